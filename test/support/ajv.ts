// ajv's JSON Schema 2020-12 validator (a devDependency, for the schema tests only: an independent
// validator, not the project's own), re-exported so that a unit test names no build output path.

import Ajv2020 from 'ajv/dist/2020';

export { Ajv2020 };
export type { ErrorObject } from 'ajv/dist/2020';

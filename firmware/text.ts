// Small text tests and splits for the firmware, written as loops over character codes: Espruino's
// regular expressions mis-handle `{n,m}` quantifiers and groups followed by more pattern (on
// 2v29, /^([0-9]{1,7})(s|m|h)$/ captures "" for the unit and /^([0-9]+)(s|m|h)$/ matches
// nothing), so nothing bound for a board uses a regular expression (build/espruino/check.mjs
// rejects them).

/** True when `code` is an ASCII digit. */
export function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

/** True when `code` is an ASCII letter. */
export function isLetter(code: number): boolean {
  return (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
}

/** True when `code` is a hex digit (either case). */
export function isHexDigit(code: number): boolean {
  return isDigit(code) || (code >= 65 && code <= 70) || (code >= 97 && code <= 102);
}

/** True when `text` is `min` to `max` ASCII digits. */
export function isDigits(text: string, min: number, max: number): boolean {
  if (text.length < min || text.length > max) return false;
  for (let i = 0; i < text.length; i++) if (!isDigit(text.charCodeAt(i))) return false;
  return true;
}

/** True for space, tab, CR and LF. */
export function isSpace(code: number): boolean {
  return code === 32 || code === 9 || code === 13 || code === 10;
}

/** The words of `text`, split at runs of spaces and tabs (no empty words). */
export function splitWords(text: string): string[] {
  const words: string[] = [];
  let start = -1;
  for (let i = 0; i <= text.length; i++) {
    const space = i === text.length || isSpace(text.charCodeAt(i));
    if (space && start >= 0) {
      words.push(text.substring(start, i));
      start = -1;
    } else if (!space && start < 0) {
      start = i;
    }
  }
  return words;
}

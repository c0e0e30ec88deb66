/*
 * TCP MD5 signatures (RFC 2385) for the Node HAL's BGP sessions: Node's sockets have no setsockopt,
 * so this Node-API addon does the two things Linux needs, on file descriptors the HAL then hands to
 * Node (hal/node/md5.ts). Built without node-gyp by scripts/build-md5.mjs, against the headers of
 * the npm package node-api-headers, for linux x64, arm64 and armhf.
 *
 *   socket(family, localAddress|null, peerAddress, key) -> fd
 *     a non-blocking TCP socket with the peer's key set (TCP_MD5SIG) and bound to localAddress,
 *     not yet connected: the key must be in place before the SYN is sent.
 *   setKey(fd, family, peerAddress, key) -> undefined
 *     sets the peer's key on an existing socket (a listener: its accepted connections use it).
 *   bfdSocket(family, localAddress|null, port, ttlCheck) -> fd
 *     a non-blocking UDP socket bound to localAddress (or any) and `port` for BFD's received
 *     packets (RFC 5881, RFC 5883), SO_REUSEADDR so that it shares the port with a router on the
 *     same host; with `ttlCheck`, a socket filter drops in the kernel every packet whose TTL (hop
 *     limit) is not 255 (RFC 5881 5, the GTSM check of RFC 5082): Node's dgram cannot read the
 *     received TTL (no IP_RECVTTL), and Linux applies IP_MINTTL to TCP only.
 *
 * Errors throw an Error whose message names the call and strerror (EPERM, ENOENT for a kernel
 * without CONFIG_TCP_MD5SIG, ...).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <node_api.h>

#define ADDRESS_TEXT_MAX 64

static napi_value fail(napi_env env, const char *what, int code) {
  char message[160];
  snprintf(message, sizeof message, "tcp-md5: %s: %s", what, strerror(code));
  napi_throw_error(env, NULL, message);
  return NULL;
}

/* Reads `value` as a string into `text` (at most `size` - 1 bytes); 0 on success. */
static int string_argument(napi_env env, napi_value value, char *text, size_t size, size_t *length) {
  return napi_get_value_string_utf8(env, value, text, size, length) == napi_ok ? 0 : -1;
}

/* Fills `address` for `family` (4 or 6) from `text`, with `port`; 0 on success. */
static int fill_address(int family, const char *text, int port, struct sockaddr_storage *address) {
  memset(address, 0, sizeof *address);
  if (family == 4) {
    struct sockaddr_in *v4 = (struct sockaddr_in *)address;
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    return inet_pton(AF_INET, text, &v4->sin_addr) == 1 ? 0 : -1;
  }
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)address;
  v6->sin6_family = AF_INET6;
  v6->sin6_port = htons(port);
  return inet_pton(AF_INET6, text, &v6->sin6_addr) == 1 ? 0 : -1;
}

/* TCP_MD5SIG for `peer` with the key in `key` (a string of 1 to 80 bytes). */
static int set_key(napi_env env, int fd, int family, const char *peer, napi_value key) {
  struct tcp_md5sig signature;
  memset(&signature, 0, sizeof signature);
  if (fill_address(family, peer, 0, (struct sockaddr_storage *)&signature.tcpm_addr) != 0)
    return EINVAL;
  /* One byte more than a key may have, and the terminator: a longer key is seen, not cut. */
  char text[TCP_MD5SIG_MAXKEYLEN + 2];
  size_t length = 0;
  if (napi_get_value_string_utf8(env, key, text, sizeof text, &length) != napi_ok) return EINVAL;
  if (length == 0 || length > TCP_MD5SIG_MAXKEYLEN) return EINVAL;
  memcpy(signature.tcpm_key, text, length);
  signature.tcpm_keylen = (unsigned short)length;
  if (setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &signature, sizeof signature) != 0) return errno;
  return 0;
}

static napi_value md5_socket(napi_env env, napi_callback_info info) {
  size_t count = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &count, argv, NULL, NULL);
  if (count != 4) return fail(env, "socket(family, local, peer, key)", EINVAL);
  int family = 0;
  napi_get_value_int32(env, argv[0], &family);
  if (family != 4 && family != 6) return fail(env, "socket: family", EINVAL);
  char local[ADDRESS_TEXT_MAX], peer[ADDRESS_TEXT_MAX];
  size_t length = 0;
  napi_valuetype type;
  napi_typeof(env, argv[1], &type);
  int has_local = type == napi_string;
  if (has_local && string_argument(env, argv[1], local, sizeof local, &length) != 0)
    return fail(env, "socket: local address", EINVAL);
  if (string_argument(env, argv[2], peer, sizeof peer, &length) != 0)
    return fail(env, "socket: peer address", EINVAL);
  int fd = socket(family == 4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(env, "socket", errno);
  int error = set_key(env, fd, family, peer, argv[3]);
  if (error != 0) {
    close(fd);
    return fail(env, "setsockopt TCP_MD5SIG", error);
  }
  if (has_local) {
    struct sockaddr_storage address;
    if (fill_address(family, local, 0, &address) != 0) {
      close(fd);
      return fail(env, "bind: local address", EINVAL);
    }
    socklen_t size = family == 4 ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    if (bind(fd, (struct sockaddr *)&address, size) != 0) {
      error = errno;
      close(fd);
      return fail(env, "bind", error);
    }
  }
  napi_value result;
  napi_create_int32(env, fd, &result);
  return result;
}

static napi_value md5_set_key(napi_env env, napi_callback_info info) {
  size_t count = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &count, argv, NULL, NULL);
  if (count != 4) return fail(env, "setKey(fd, family, peer, key)", EINVAL);
  int fd = -1, family = 0;
  napi_get_value_int32(env, argv[0], &fd);
  napi_get_value_int32(env, argv[1], &family);
  char peer[ADDRESS_TEXT_MAX];
  size_t length = 0;
  if (fd < 0 || (family != 4 && family != 6) ||
      string_argument(env, argv[2], peer, sizeof peer, &length) != 0)
    return fail(env, "setKey", EINVAL);
  int error = set_key(env, fd, family, peer, argv[3]);
  if (error != 0) return fail(env, "setsockopt TCP_MD5SIG", error);
  return NULL;
}

/*
 * The classic BPF program that keeps a datagram only when the byte at `offset` of its network
 * header (the IPv4 TTL at 8, the IPv6 hop limit at 7) is 255.
 */
static int attach_ttl_filter(int fd, int offset) {
  struct sock_filter code[] = {
    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, (unsigned)(SKF_NET_OFF + offset)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 255, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, 0xffffffff),
    BPF_STMT(BPF_RET | BPF_K, 0),
  };
  struct sock_fprog program = { sizeof code / sizeof code[0], code };
  return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof program) == 0 ? 0 : errno;
}

static napi_value bfd_socket(napi_env env, napi_callback_info info) {
  size_t count = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &count, argv, NULL, NULL);
  if (count != 4) return fail(env, "bfdSocket(family, local, port, ttlCheck)", EINVAL);
  int family = 0, port = 0;
  bool ttl_check = false;
  napi_get_value_int32(env, argv[0], &family);
  napi_get_value_int32(env, argv[2], &port);
  napi_get_value_bool(env, argv[3], &ttl_check);
  if ((family != 4 && family != 6) || port <= 0 || port > 65535)
    return fail(env, "bfdSocket: family or port", EINVAL);
  char local[ADDRESS_TEXT_MAX] = "";
  size_t length = 0;
  napi_valuetype type;
  napi_typeof(env, argv[1], &type);
  if (type == napi_string && string_argument(env, argv[1], local, sizeof local, &length) != 0)
    return fail(env, "bfdSocket: local address", EINVAL);
  const char *any = family == 4 ? "0.0.0.0" : "::";
  struct sockaddr_storage address;
  if (fill_address(family, type == napi_string ? local : any, port, &address) != 0)
    return fail(env, "bfdSocket: local address", EINVAL);
  int fd = socket(family == 4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(env, "bfdSocket: socket", errno);
  int one = 1, error = 0;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) error = errno;
  if (error == 0 && family == 6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0)
    error = errno;
  if (error == 0 && ttl_check) error = attach_ttl_filter(fd, family == 4 ? 8 : 7);
  socklen_t size = family == 4 ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
  if (error == 0 && bind(fd, (struct sockaddr *)&address, size) != 0) error = errno;
  if (error != 0) {
    close(fd);
    return fail(env, "bfdSocket", error);
  }
  napi_value result;
  napi_create_int32(env, fd, &result);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value function;
  napi_create_function(env, "socket", NAPI_AUTO_LENGTH, md5_socket, NULL, &function);
  napi_set_named_property(env, exports, "socket", function);
  napi_create_function(env, "setKey", NAPI_AUTO_LENGTH, md5_set_key, NULL, &function);
  napi_set_named_property(env, exports, "setKey", function);
  napi_create_function(env, "bfdSocket", NAPI_AUTO_LENGTH, bfd_socket, NULL, &function);
  napi_set_named_property(env, exports, "bfdSocket", function);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)

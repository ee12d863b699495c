/*
 * RLIMIT_NOFILE for the server: every control connection is one TCP descriptor, so the number of sessions one
 * process can hold is bounded by this limit. A production server raises its soft limit to the hard one at start
 * (an unprivileged process may, setrlimit(2)); only the hard limit needs the administrator (systemd's
 * LimitNOFILE=, `ulimit -Hn`, or CAP_SYS_RESOURCE). Node 20 does the same raise at start-up on Linux; doing it
 * here too keeps the server correct under any embedder, and reports what was found.
 */
#include <errno.h>
#include <math.h>
#include <sys/resource.h>

#include "errors.h"
#include "rlimit.h"

static double limit_value(rlim_t v) {
  return v == RLIM_INFINITY ? INFINITY : (double)v;
}

static napi_value set_number(napi_env env, napi_value obj, const char *name, double v) {
  napi_value n;
  if (napi_create_double(env, v, &n) != napi_ok || napi_set_named_property(env, obj, name, n) != napi_ok) return NULL;
  return obj;
}

/* raiseNofileLimit(): soft := hard when it is lower; returns { soft, hard, before } as now in force. */
static napi_value raise_nofile(napi_env env, napi_callback_info info) {
  struct rlimit lim;
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) {
    io_throw_errno(env, errno, "getrlimit(RLIMIT_NOFILE)", NULL);
    return NULL;
  }
  rlim_t before = lim.rlim_cur;
  if (lim.rlim_cur != lim.rlim_max) {
    struct rlimit want = {.rlim_cur = lim.rlim_max, .rlim_max = lim.rlim_max};
    /* On failure (a kernel capping at fs.nr_open below the hard limit) the soft limit stays as it was. */
    if (setrlimit(RLIMIT_NOFILE, &want) == 0) lim = want;
  }
  napi_value obj;
  if (napi_create_object(env, &obj) != napi_ok) return NULL;
  if (set_number(env, obj, "soft", limit_value(lim.rlim_cur)) == NULL) return NULL;
  if (set_number(env, obj, "hard", limit_value(lim.rlim_max)) == NULL) return NULL;
  if (set_number(env, obj, "before", limit_value(before)) == NULL) return NULL;
  return obj;
}

napi_value io_define_rlimit(napi_env env) {
  napi_value fn;
  if (napi_create_function(env, "raiseNofileLimit", NAPI_AUTO_LENGTH, raise_nofile, NULL, &fn) != napi_ok) return NULL;
  return fn;
}

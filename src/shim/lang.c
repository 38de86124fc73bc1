/*
 * lang.c - the entry points language runtimes call, and Node's hook.
 *
 * The JVM: the shim is also a JVMTI agent. Plain LD_PRELOAD needs none of this (the
 * core finds the VM itself), but `-agentpath:libsockleak.so` (Agent_OnLoad) hands the
 * VM over before any Java code runs, and `jcmd PID JVMTI.agent_load libsockleak.so`
 * (Agent_OnAttach) into a VM that runs under the shim does the same late.
 *
 * Node: the code that asks for a socket is gone from the stack when the fd is made, so
 * a small JavaScript module (scripts/sockleak-node.js), preloaded with --require, takes
 * the JavaScript stack where a socket is asked for and hands it over with the fd, once
 * the handle holds one. It reaches the shim by loading the very library already
 * preloaded as a Node-API addon (process.dlopen runs napi_register_module_v1, which
 * gives it note(fd, stack)). The Node-API functions are the running node's own,
 * looked up when the addon is registered: no node header or library at build time.
 * For node programs the shim adds the --require to NODE_OPTIONS at start-up
 * (init.c, node_frames), from the copy of the module next to the library.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "shim.h"

SL_EXPORT int Agent_OnLoad(void *vm, char *options, void *reserved)
{
    (void)options, (void)reserved;
    sl_ensure();
    return sl_jvm_agent(vm);
}

SL_EXPORT int Agent_OnAttach(void *vm, char *options, void *reserved)
{
    (void)options, (void)reserved;
    sl_ensure();
    return sl_jvm_agent(vm);
}

/* ---- Node-API (js_native_api.h; the ABI is stable across node versions) ---- */
typedef struct napi_env__ *napi_env;
typedef struct napi_value__ *napi_value;
typedef struct napi_callback_info__ *napi_callback_info;
typedef napi_value (*napi_callback)(napi_env env, napi_callback_info info);

static struct {
    int (*create_function)(napi_env, const char *, size_t, napi_callback, void *, napi_value *);
    int (*set_named_property)(napi_env, napi_value, const char *, napi_value);
    int (*get_cb_info)(napi_env, napi_callback_info, size_t *, napi_value *, napi_value *, void **);
    int (*get_value_int32)(napi_env, napi_value, int32_t *);
    int (*get_value_string_utf8)(napi_env, napi_value, char *, size_t, size_t *);
    int (*create_int32)(napi_env, int32_t, napi_value *);
} napi;

/* note(fd, stack): the socket on fd was asked for by this stack. Returns 0 or -errno. */
static napi_value note(napi_env env, napi_callback_info info)
{
    size_t argc = 2, len = 0;
    napi_value argv[2], ret = NULL;
    int32_t fd = -1;
    int r = -EINVAL;
    if (napi.get_cb_info(env, info, &argc, argv, NULL, NULL) == 0 && argc == 2
        && napi.get_value_int32(env, argv[0], &fd) == 0
        && napi.get_value_string_utf8(env, argv[1], NULL, 0, &len) == 0) {
        char *text = malloc(len + 1);
        r = -ENOMEM;
        if (text && napi.get_value_string_utf8(env, argv[1], text, len + 1, &len) == 0)
            r = sl_js_note(fd, text, len);
        free(text);
    }
    napi.create_int32(env, r, &ret);
    return ret;
}

SL_EXPORT napi_value napi_register_module_v1(napi_env env, napi_value exports)
{
    sl_ensure();
#define LOOK(field, name) (napi.field = (__typeof__(napi.field))dlsym(RTLD_DEFAULT, name))
    if (!LOOK(create_function, "napi_create_function") || !LOOK(set_named_property, "napi_set_named_property")
        || !LOOK(get_cb_info, "napi_get_cb_info") || !LOOK(get_value_int32, "napi_get_value_int32")
        || !LOOK(get_value_string_utf8, "napi_get_value_string_utf8") || !LOOK(create_int32, "napi_create_int32"))
        return exports; /* not a node we know: the hook finds no note() and stays out */
#undef LOOK
    napi_value fn, depth;
    if (napi.create_function(env, "note", 4, note, NULL, &fn) == 0)
        napi.set_named_property(env, exports, "note", fn);
    if (napi.create_int32(env, sl_opt.stack_depth, &depth) == 0)
        napi.set_named_property(env, exports, "depth", depth);
    return exports;
}

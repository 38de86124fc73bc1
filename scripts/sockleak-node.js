// sockleak-node.js - sockleak's hook in Node: the JavaScript stack of the code that
// asks for a socket, handed to the shim with the socket's fd.
//
// Node makes a client's fd on a later tick (after a lookup) and a server's accepted
// fds in its event loop, when the code that asked for them is gone from the stack. So
// this module, preloaded with --require (the shim adds it to NODE_OPTIONS for node
// programs; option node_frames), takes the stack where a socket is asked for
// (net.Socket#connect: net, tls, http and https clients; net.Server#listen: the
// listener and every connection it accepts; dgram.Socket#bind, which send() calls),
// and as soon as the handle holds an fd it calls note(fd, stack) in the shim, which it
// loads as a Node-API addon: the library already preloaded (process.dlopen gives its
// napi_register_module_v1). The fd is open and held by that handle then: the match is
// exact. A node without the shim loaded (follow_children=0 upstream) is left alone.
// Nothing here may break the program: every step fails silently.
'use strict';

(function sockleakHook() {
  const key = Symbol.for('sockleak.node-hook');
  if (globalThis[key]) return;
  globalThis[key] = true;

  let note, depth = 16;
  try {
    const maps = require('fs').readFileSync('/proc/self/maps', 'latin1');
    const m = maps.match(/ (\/[^\n]*\/libsockleak[^/\n]*\.so)$/m);
    if (!m) return;
    const addon = { exports: {} };
    process.dlopen(addon, m[1]);
    note = addon.exports.note;
    if (typeof addon.exports.depth === 'number') depth = addon.exports.depth;
  } catch (e) {
    return;
  }
  if (typeof note !== 'function' || depth <= 0) return;

  const { fileURLToPath } = require('url');
  const kNoted = Symbol('sockleak.noted');
  const kStack = Symbol('sockleak.stack');

  // "function\tfile\tline\tcolumn" per frame, innermost first, from the caller of skip.
  function capture(skip) {
    const limit = Error.stackTraceLimit, prepare = Error.prepareStackTrace;
    let sites;
    try {
      Error.stackTraceLimit = depth;
      Error.prepareStackTrace = (_, callSites) => callSites;
      const holder = {};
      Error.captureStackTrace(holder, skip);
      sites = holder.stack;
    } catch (e) {
      return '';
    } finally {
      Error.stackTraceLimit = limit;
      Error.prepareStackTrace = prepare;
    }
    if (!Array.isArray(sites)) return '';
    let out = '';
    for (const cs of sites) {
      try {
        const fn = cs.getFunctionName();
        let name;
        if (cs.isConstructor()) {
          name = 'new ' + (fn || '<anonymous>');
        } else if (cs.isToplevel()) {
          name = fn || '<anonymous>';
        } else {
          const type = cs.getTypeName();
          const base = fn || cs.getMethodName() || '<anonymous>';
          name = type && !base.startsWith(type + '.') ? type + '.' + base : base;
        }
        if (cs.isAsync && cs.isAsync()) name = 'async ' + name;
        let file = cs.getFileName() || '<anonymous>';
        if (file.startsWith('file://')) file = fileURLToPath(file);
        if (file === __filename) continue; // this hook's own wrappers
        out += `${name}\t${file}\t${cs.getLineNumber() || 0}\t${cs.getColumnNumber() || 0}\n`;
      } catch (e) {
        // a frame it cannot describe: left out
      }
    }
    return out;
  }

  // The handle holds an fd: hand it over, once. True if it did.
  function noteHandle(handle, stack) {
    if (!handle || !stack) return false;
    if (handle[kNoted]) return true;
    let fd;
    try {
      fd = handle.fd;
    } catch (e) {
      return false;
    }
    if (typeof fd !== 'number' || fd < 0) return false;
    handle[kNoted] = true;
    try {
      note(fd, stack);
    } catch (e) {
      // the shim could not take it: native frames remain
    }
    return true;
  }

  // The fd comes later (after a lookup): when the handle's call that makes it returns.
  function watch(handle, stack) {
    if (!handle || !stack || noteHandle(handle, stack)) return;
    for (const name of ['connect', 'connect6', 'bind', 'bind6', 'listen', 'open']) {
      const orig = handle[name];
      if (typeof orig !== 'function') continue;
      try {
        handle[name] = function () {
          const ret = orig.apply(this, arguments);
          noteHandle(this, stack);
          return ret;
        };
      } catch (e) {
        return;
      }
    }
  }

  function wrap(proto, name, make) {
    const orig = proto && proto[name];
    if (typeof orig !== 'function') return;
    try {
      proto[name] = make(orig);
    } catch (e) {
      // read-only: left as it is
    }
  }

  const net = require('net');
  wrap(net.Socket.prototype, 'connect', (orig) => function connect() {
    const stack = capture(connect);
    const ret = orig.apply(this, arguments);
    watch(this._handle, stack);
    return ret;
  });
  wrap(net.Server.prototype, 'listen', (orig) => function listen() {
    this[kStack] = capture(listen);
    const ret = orig.apply(this, arguments);
    noteHandle(this._handle, this[kStack]);
    return ret;
  });
  // a server's listener made after a lookup, and every socket it accepts: its listen
  // stack, under a frame that says so (and keeps them apart from the listener)
  wrap(net.Server.prototype, 'emit', (orig) => function emit(event, socket) {
    const stack = this[kStack];
    if (stack && event === 'connection' && socket) noteHandle(socket._handle, '(accepted)\tnode:net\t0\t0\n' + stack);
    else if (stack && event === 'listening') noteHandle(this._handle, stack);
    return orig.apply(this, arguments);
  });

  const dgram = require('dgram');
  wrap(dgram.Socket.prototype, 'bind', (orig) => function bind() {
    const stack = capture(bind);
    const ret = orig.apply(this, arguments);
    try {
      const state = Object.getOwnPropertySymbols(this).find((s) => s.description === 'state symbol');
      if (state && this[state]) watch(this[state].handle, stack);
    } catch (e) {
      // another node's internals: native frames remain
    }
    return ret;
  });
})();

// node_server.js: an HTTP server (libuv closes with syscall(SYS_close)), serving
// ARGV[2] requests with Connection: close, then closing and exiting. Prints its port.
'use strict';
const http = require('http');

let left = Number(process.argv[2] || 200);
const server = http.createServer((req, res) => {
  res.setHeader('Connection', 'close');
  res.end('ok');
  if (--left === 0) server.close();
});
server.listen(0, '127.0.0.1', () => console.log('port=' + server.address().port));

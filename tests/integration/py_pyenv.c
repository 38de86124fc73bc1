// Python frames in the python3 on PATH (pyenv's CPython 3.11.7 here, a shared
// libpython; Debian's python3 elsewhere): the leak sites of lang/two_sites.py are named
// with function, file and line; the text report shows them as "#N function file:line
// (python)" and its headline names the first frame of the program's own code.
// REQUIRES: python3
// FORMAT: text
// OPTIONS: close_wait_after=200ms:scan_interval=50ms
// RUN: python3 %S/lang/two_sites.py
// CHECK: sockleak: 3 sockets stuck in CLOSE_WAIT .*, opened at fetch_item \(two_sites.py:9\) and elsewhere
// CHECK: ^Leak of 2 sockets stuck in CLOSE_WAIT
// CHECK: ^    #0 socket.__init__ /.*/socket.py:\d+ \(python\)
// CHECK: ^    #1 create_connection /.*/socket.py:\d+ \(python\)
// CHECK: ^    #2 fetch_item /.*/lang/two_sites.py:9 \(python\)
// CHECK: ^    #3 <module> /.*/lang/two_sites.py:21 \(python\)
// CHECK: ^    #4 0x[0-9a-f]+ 
// CHECK: ^Leak of 1 socket stuck in CLOSE_WAIT
// CHECK: ^    #1 ping_health /.*/lang/two_sites.py:14 \(python\)
int main(void)
{
    return 0;
}

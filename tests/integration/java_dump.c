// A report asked for while the JVM runs (through the shim's control socket: a JVM
// takes SIGUSR2 for itself) names the Java frames too: the shim's thread attaches to
// the VM for the time it takes to name the methods, and detaches. The program then
// ends with System.exit(3), and its exit report, written after the VM died, has them as
// well (lang/Held.java).
// REQUIRES: java, javac
// TIMEOUT: 60
// RUN: javac -d %T %S/lang/Held.java
// RUN: java -cp %T Held 2000 > %T/out & pid=$!; while ! grep -q ready %T/out; do sleep 0.1; done
// RUN: python3 -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.connect("\0sockleak." + sys.argv[1]); s.sendall(b"dump\n"); print(s.recv(4096))' $pid; wait $pid; echo java=$?
// STDOUT: ^b'sockleak 1\\tok\\t
// STDOUT: ^java=3$
// EXPECT: [x["reason"] for x in reports if x["program"] == "java"] == ["dump", "exit"]
// EXPECT: all(sorted(([f["function"], f["file"], f["line"]] for g in x["groups"] for f in stack(g["stack"], x) if f["lang"] == "java" and f["function"].startswith("Held.")), key=str) == [["Held.main", "Held.java", 17], ["Held.main", "Held.java", 19], ["Held.main", "Held.java", 20], ["Held.openOne", "Held.java", 13]] for x in reports if x["program"] == "java")
int main(void)
{
    return 0;
}

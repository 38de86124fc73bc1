"""symbolize: function, file and line from debug info found by build-id; ELF build-ids."""
import json
import os
import shutil
import struct
import subprocess
import unittest

import shim_reports
from shim_reports import R, ToolTest
from sockleak_report.symbolize import Resolver, elf_info, parse_location


def elf(is64, little, notes=b"", with_sections=True):
    """A minimal ELF file: a header, one note (as a SHT_NOTE section and a PT_NOTE
    segment), a .shstrtab. (For the odd files a build-id reader must survive; real
    programs are tested below.)"""
    e = "<" if little else ">"
    shstr = b"\0.note.gnu.build-id\0.shstrtab\0"
    ehsize, phentsize, shentsize = (64, 56, 64) if is64 else (52, 32, 40)
    phoff = ehsize
    note_off = phoff + phentsize
    shstr_off = note_off + len(notes)
    shoff = shstr_off + len(shstr)
    shoff += (-shoff) % 8
    nsec = 3 if with_sections else 0
    ident = b"\x7fELF" + bytes([2 if is64 else 1, 1 if little else 2, 1]) + b"\0" * 9
    if is64:
        hdr = ident + struct.pack(e + "HHIQQQIHHHHHH", 3, 62, 1, 0, phoff, shoff if nsec else 0, 0, ehsize,
                                  phentsize, 1, shentsize, nsec, 2 if nsec else 0)
        ph = struct.pack(e + "IIQQQQQQ", 4, 4, note_off, 0, 0, len(notes), len(notes), 4)
        sec = [struct.pack(e + "IIQQQQIIQQ", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
               struct.pack(e + "IIQQQQIIQQ", 1, 7, 2, 0, note_off, len(notes), 0, 0, 4, 0),
               struct.pack(e + "IIQQQQIIQQ", 20, 3, 0, 0, shstr_off, len(shstr), 0, 0, 1, 0)]
    else:
        hdr = ident + struct.pack(e + "HHIIIIIHHHHHH", 3, 3, 1, 0, phoff, shoff if nsec else 0, 0, ehsize,
                                  phentsize, 1, shentsize, nsec, 2 if nsec else 0)
        ph = struct.pack(e + "IIIIIIII", 4, note_off, 0, 0, len(notes), len(notes), 4, 4)
        sec = [struct.pack(e + "IIIIIIIIII", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
               struct.pack(e + "IIIIIIIIII", 1, 7, 2, 0, note_off, len(notes), 0, 0, 4, 0),
               struct.pack(e + "IIIIIIIIII", 20, 3, 0, 0, shstr_off, len(shstr), 0, 0, 1, 0)]
    body = hdr + ph + notes + shstr
    body += b"\0" * (shoff - len(body))
    return body + (b"".join(sec) if nsec else b"")


def note(e, name, ntype, desc):
    def pad(b):
        return b + b"\0" * ((-len(b)) % 4)

    return struct.pack(e + "III", len(name), len(desc), ntype) + pad(name) + pad(desc)


def frames_of(path):
    """[(stack id, [frame])] of every report in a JSON Lines file."""
    with open(path, encoding="utf-8") as f:
        return [(st["id"], st["frames"]) for line in f if line.strip() for st in json.loads(line)["stacks"]]


class BuildId(ToolTest):
    def put(self, name, data):
        path = os.path.join(self.dir, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def test_every_class_and_byte_order(self):
        bid = bytes(range(1, 21))
        for is64 in (False, True):
            for little in (False, True):
                e = "<" if little else ">"
                notes = note(e, b"GNU\0", 1, b"\0" * 16) + note(e, b"GNU\0", 3, bid)  # ABI tag first
                info = elf_info(self.put("x", elf(is64, little, notes)))
                self.assertEqual(info.build_id, bid.hex(), (is64, little))

    def test_without_section_headers_from_the_note_segment(self):
        notes = note("<", b"GNU\0", 3, b"\x07" * 20)
        self.assertEqual(elf_info(self.put("y", elf(True, True, notes, with_sections=False))).build_id, "07" * 20)

    def test_odd_files_give_none_never_an_exception(self):
        good = elf(True, True, note("<", b"GNU\0", 3, b"\xab" * 20))
        self.assertIsNone(elf_info(self.put("text", b"#!/bin/sh\necho hi\n")))
        self.assertIsNone(elf_info(os.path.join(self.dir, "absent")))
        self.assertIsNone(elf_info(self.dir))
        for cut in (10, 60, 100, len(good) - 30):
            info = elf_info(self.put("cut", good[:cut]))
            self.assertTrue(info is None or info.build_id in (None, "ab" * 20))
        bogus = bytearray(good)
        struct.pack_into("<I", bogus, 64 + 56 + 4, 0xFFFFFFF0)  # descsz far past the end
        info = elf_info(self.put("bogus", bytes(bogus)))
        self.assertTrue(info is None or info.build_id in (None, "ab" * 20))

    def test_a_program_its_debug_file_and_its_stripped_copy(self):
        want = shim_reports.build_id("growth")
        exe = os.path.join(R.programs, "growth")
        info = elf_info(exe)
        self.assertEqual((info.build_id, info.has_debug, info.has_symtab), (want, True, True))
        info = elf_info(os.path.join(R.debug_dir, "growth.stripped.debug"))
        self.assertEqual((info.build_id, info.has_debug), (want, True))
        info = elf_info(exe + ".stripped")
        self.assertEqual((info.build_id, info.has_debug, info.has_symtab), (want, False, False))

    def test_the_build_id_is_the_one_the_shim_reports(self):
        frame = R.last("stripped")["stacks"][0]["frames"][0]
        self.assertEqual(elf_info(frame["module"]).build_id, frame["build_id"])


class Locations(ToolTest):
    def test_addr2line_locations(self):
        self.assertEqual(parse_location("/src/a.c:42:7"), ("/src/a.c", 42))
        self.assertEqual(parse_location("/src/a.c:42 (discriminator 3)"), ("/src/a.c", 42))
        self.assertEqual(parse_location("??:0"), (None, None))
        self.assertEqual(parse_location("??:?"), (None, None))
        self.assertEqual(parse_location("/src/a.c:?"), ("/src/a.c", None))
        self.assertEqual(parse_location("/src/a.c:0"), ("/src/a.c", None))


class Symbolize(ToolTest):
    def symbolize(self, *args):
        out = os.path.join(self.dir, "sym.jsonl")
        rc, _o, err = self.run_process("symbolize", *args, "-o", out, R.path("stripped"))
        self.assertEqual(rc, 0, err)
        return out

    def test_a_stripped_programs_frames_get_names_and_lines_from_its_debug_file(self):
        got = dict(frames_of(self.symbolize("--debug-dir", R.debug_dir)))
        fns = [f["function"] for _sid, frames in got.items() for f in frames]
        self.assertIn("leaky", fns)
        self.assertIn("main", fns)
        leaky = [f for _sid, frames in got.items() for f in frames if f["function"] == "leaky"][0]
        self.assertEqual((os.path.basename(leaky["file"]), type(leaky["line"])), ("growth.c", int))

    def test_calls_inlined_at_an_address_become_frames_marked_inlined(self):
        out = os.path.join(self.dir, "sym.jsonl")
        rc, _o, err = self.run_process("symbolize", "--debug-dir", R.debug_dir, "-o", out, R.path("inlined_stripped"))
        self.assertEqual(rc, 0, err)
        before = [f for _sid, frames in frames_of(R.path("inlined_stripped")) for f in frames]
        self.assertFalse(any(f.get("inlined") for f in before))  # the shim had no debug info to expand them
        [(sid, frames)] = [x for x in frames_of(out) if any(f["function"] == "check_backend" for f in x[1])]
        self.assertEqual([(f["function"], f["inlined"]) for f in frames[:3]],
                         [("connect_backend", True), ("check_backend", False), ("main", False)])
        self.assertEqual(frames[0]["ip"], frames[1]["ip"])
        src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "programs", "inlined.c")
        with open(src, encoding="utf-8") as f:
            lines = f.read().splitlines()
        self.assertEqual([f["line"] for f in frames[:2]],
                         [lines.index(x) + 1 for x in lines if "the socket's line" in x or "the call's line" in x])
        self.assertIn(sid, [s for s, _f in frames_of(R.path("inlined_stripped"))])  # the same stack id
        rc, text, err = self.run_process("render", out)
        self.assertIn("in connect_backend (inlined) ", text)

    def test_stack_ids_and_other_keys_stay(self):
        got = self.symbolize("--debug-dir", R.debug_dir)
        self.assertEqual([sid for sid, _f in frames_of(got)], [sid for sid, _f in frames_of(R.path("stripped"))])
        with open(got, encoding="utf-8") as a, open(R.path("stripped"), encoding="utf-8") as b:
            for x, y in zip(a, b):
                x, y = json.loads(x), json.loads(y)
                del x["stacks"], y["stacks"]
                self.assertEqual(x, y)

    def test_an_unstripped_copy_in_a_binary_dir(self):
        bindir = os.path.join(self.dir, "bin")
        os.mkdir(bindir)
        shutil.copy(os.path.join(R.programs, "growth"), os.path.join(bindir, "growth.stripped"))
        fns = [f["function"] for _sid, frames in frames_of(self.symbolize("--binary-dir", bindir)) for f in frames]
        self.assertIn("leaky", fns)

    def test_without_debug_info_frames_stay_and_the_module_is_named(self):
        rc, out, err = self.run_process("symbolize", R.path("stripped"))
        self.assertEqual(rc, 0, err)
        self.assertIn("growth.stripped", err)
        self.assertEqual(out.count("\n"), 2)  # the two reports, unchanged in number

    def test_lines_that_are_not_reports_are_copied_as_they_were(self):
        with open(R.path("stripped"), encoding="utf-8") as f:
            real = f.read().splitlines()
        src = self.write("r.jsonl", "not a report", *real)
        out = os.path.join(self.dir, "out.jsonl")
        rc, _o, err = self.run_process("symbolize", "--debug-dir", R.debug_dir, "-o", out, src)
        self.assertEqual(rc, 0, err)
        with open(out, encoding="utf-8") as f:
            self.assertEqual(f.readline(), "not a report\n")

    def test_the_output_may_be_the_input(self):
        with open(R.path("stripped"), encoding="utf-8") as f:
            src = self.write("r.jsonl", *f.read().splitlines())
        rc, _o, err = self.run_process("symbolize", "--debug-dir", R.debug_dir, "-o", src, src)
        self.assertEqual(rc, 0, err)
        self.assertIn("leaky", [f["function"] for _sid, frames in frames_of(src) for f in frames])

    def test_one_addr2line_call_per_file_each_offset_once_minus_one(self):
        log = os.path.join(self.dir, "calls.log")
        fake = os.path.join(self.dir, "fake-addr2line")
        with open(fake, "w", encoding="utf-8") as f:
            f.write("#!/bin/sh\necho \"$@\" >> %s\nwhile read a; do echo \"$a\" >> %s; echo \"$a\"; echo \"fn_$a\"; "
                    "echo \"/src/prog.c:7:3\"; done\n" % (log, log))
        os.chmod(fake, 0o755)
        got = self.symbolize("--addr2line", fake, "--debug-dir", R.debug_dir)
        calls = []  # [(file, [offset asked])]
        with open(log, encoding="utf-8") as fh:
            for line in fh.read().splitlines():
                if line.startswith("-a -i -f -C -e "):
                    calls.append((line[len("-a -i -f -C -e "):], []))
                else:
                    calls[-1][1].append(line)
        mine = [c for c in calls if c[0] == os.path.join(R.debug_dir, "growth.stripped.debug")]
        self.assertEqual(len(mine), 1, calls)
        self.assertEqual(len(calls), len({f for f, _o in calls}))  # one call per file
        offsets = {int(f["module_offset"], 16) for _sid, frames in frames_of(R.path("stripped")) for f in frames
                   if f["module"].endswith("growth.stripped")}
        self.assertEqual(sorted(mine[0][1]), sorted("0x%x" % (o - 1) for o in offsets))
        fns = {f["function"] for _sid, frames in frames_of(got) for f in frames}
        self.assertIn("fn_0x%x" % (min(offsets) - 1), fns)
        self.assertTrue(all(f["line"] == 7 for _sid, frames in frames_of(got) for f in frames
                            if f["module"].endswith("growth.stripped")))

    def test_a_missing_addr2line_is_an_error(self):
        rc, _o, err = self.run_process("symbolize", "--addr2line", "no-such-addr2line", R.path("stripped"))
        self.assertEqual(rc, 2)
        self.assertIn("no-such-addr2line: not found (--addr2line)", err)


class Resolving(ToolTest):
    @unittest.skipUnless(shutil.which("cc"), "needs cc")
    def test_a_file_of_another_build_is_refused(self):
        src = self.write("lib.c", "int f(void) { return 1; }")
        lib = os.path.join(self.dir, "lib.so")
        subprocess.run(["cc", "-g", "-shared", "-fPIC", "-Wl,--build-id=0x" + "01" * 20, src, "-o", lib], check=True)
        r = Resolver([self.dir], [])
        self.assertEqual(r.find("/elsewhere/lib.so", "01" * 20)[0], lib)  # DIR/NAME, same build-id
        self.assertIsNone(r.find("/elsewhere/lib.so", "02" * 20))  # same name, another build
        self.assertIsNone(r.find("/elsewhere/lib.so", None))  # cannot tell: not used
        self.assertEqual(r.find(lib, None)[0], lib)  # the module itself, on this machine

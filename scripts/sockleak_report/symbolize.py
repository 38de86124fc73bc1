"""symbolize: fill in function, file and line of frames from debug info, after the fact.

A stripped program's report has frames with a module and an offset only. For each
module the frame's build-id names, Resolver finds a file of the same build (a separate
debug file under --debug-dir, /usr/lib/debug, .build-id/xx/rest.debug, a
.gnu_debuglink; an unstripped copy under --binary-dir; the module itself), reading
build-ids straight from ELF headers (elf_info); a file of another build is never used.
Then one eu-addr2line (or addr2line) call per file answers for all its offsets. The
output is the same JSON Lines with frames completed: stack ids, other keys and lines
that are not reports stay as they were. Language frames (Python, Java, JavaScript:
"lang") have their names and lines from the runtime and no module: they are left as
they are.
"""
import collections
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

from .errors import Failure, warn
from .frames import basename
from .reading import input_name, read_lines
from .values import dicts, string

DEFAULT_DEBUG_DIRS = ["/usr/lib/debug"]
NT_GNU_BUILD_ID = 3


class ElfInfo:
    """What symbolize needs to know of an ELF file."""
    __slots__ = ("build_id", "has_debug", "has_symtab", "debuglink")

    def __init__(self):
        self.build_id = None
        self.has_debug = False  # .debug_info / .debug_line with contents
        self.has_symtab = False
        self.debuglink = None


def _notes(data, e, align):
    """Yield (name, type, desc) of the ELF notes in data."""
    def pad(n):
        return (n + align - 1) // align * align

    pos = 0
    while pos + 12 <= len(data):
        namesz, descsz, ntype = struct.unpack_from(e + "III", data, pos)
        name_at = pos + 12
        desc_at = name_at + pad(namesz)
        end = desc_at + pad(descsz)
        if namesz > len(data) or descsz > len(data) or desc_at + descsz > len(data):
            return
        yield data[name_at:name_at + namesz], ntype, data[desc_at:desc_at + descsz]
        if end <= pos:
            return
        pos = end


def _build_id(data, e, align):
    for name, ntype, desc in _notes(data, e, align):
        if ntype == NT_GNU_BUILD_ID and name.rstrip(b"\0") == b"GNU" and desc:
            return desc.hex()
    return None


def elf_info(path):
    """Build-id and debug contents of an ELF file, read from its section headers (or its
    program headers when it has none). None if the file is not ELF or is unreadable;
    a truncated or odd file gives what could be read, never an exception."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    if len(data) < 52 or data[:4] != b"\x7fELF" or data[4] not in (1, 2) or data[5] not in (1, 2):
        return None
    is64 = data[4] == 2
    e = "<" if data[5] == 1 else ">"
    info = ElfInfo()
    try:
        if is64:
            (phoff, shoff) = struct.unpack_from(e + "QQ", data, 32)
            (phentsize, phnum, shentsize, shnum, shstrndx) = struct.unpack_from(e + "HHHHH", data, 54)
            sh_fmt, sh_min, ph_fmt, ph_min = e + "IIQQQQIIQQ", 64, e + "IIQQQQQQ", 56
        else:
            (phoff, shoff) = struct.unpack_from(e + "II", data, 28)
            (phentsize, phnum, shentsize, shnum, shstrndx) = struct.unpack_from(e + "HHHHH", data, 42)
            sh_fmt, sh_min, ph_fmt, ph_min = e + "IIIIIIIIII", 40, e + "IIIIIIII", 32
        sections = []
        if shoff and shentsize >= sh_min and shoff + shentsize <= len(data):
            first = struct.unpack_from(sh_fmt, data, shoff)
            if shnum == 0:
                shnum = first[5]  # extended numbering: the count is in section 0's sh_size
            if shstrndx == 0xFFFF:
                shstrndx = first[6]
            for i in range(min(shnum, (len(data) - shoff) // shentsize)):
                sections.append(struct.unpack_from(sh_fmt, data, shoff + i * shentsize))
        names = b""
        if 0 < shstrndx < len(sections):
            s = sections[shstrndx]
            names = data[s[4]:s[4] + s[5]]
        for s in sections:
            name_off, stype, off, size = s[0], s[1], s[4], s[5]
            align = s[8]
            end = names.find(b"\0", name_off)
            name = names[name_off:end if end >= 0 else len(names)].decode("latin-1") if name_off < len(names) else ""
            contents = stype != 8 and size > 0 and off + size <= len(data)  # 8: SHT_NOBITS
            if stype == 7 and contents and info.build_id is None:
                info.build_id = _build_id(data[off:off + size], e, 8 if align == 8 else 4)
            elif stype == 2:  # SHT_SYMTAB
                info.has_symtab = info.has_symtab or contents
            if name in (".debug_info", ".debug_line", ".zdebug_info", ".zdebug_line") and contents:
                info.has_debug = True
            elif name == ".gnu_debuglink" and contents:
                link = data[off:off + size].split(b"\0", 1)[0]
                info.debuglink = link.decode("utf-8", errors="replace") or None
        if info.build_id is None and phoff and phentsize >= ph_min:
            for i in range(min(phnum, max(0, (len(data) - phoff) // phentsize))):
                p = struct.unpack_from(ph_fmt, data, phoff + i * phentsize)
                if is64:
                    ptype, off, filesz, align = p[0], p[2], p[5], p[7]
                else:
                    ptype, off, filesz, align = p[0], p[1], p[4], p[7]
                if ptype == 4 and filesz and off + filesz <= len(data):  # PT_NOTE
                    info.build_id = _build_id(data[off:off + filesz], e, 8 if align == 8 else 4)
                    if info.build_id:
                        break
    except struct.error:
        pass
    return info


class Resolver:
    """Finds, for a module and build-id, the ELF file to ask for names and lines:
    a separate debug file or a copy of the binary whose build-id matches."""

    def __init__(self, debug_dirs, binary_dirs):
        self.debug_dirs = list(debug_dirs) + [d for d in DEFAULT_DEBUG_DIRS if d not in debug_dirs]
        self.binary_dirs = list(binary_dirs)
        self.cache = {}
        self.infos = {}

    def info(self, path):
        if path not in self.infos:
            self.infos[path] = elf_info(path) if os.path.isfile(path) else None
        return self.infos[path]

    def candidates(self, module, build_id):
        base = basename(module)
        out = []
        for d in self.debug_dirs:
            if build_id and len(build_id) > 2:
                out.append(os.path.join(d, ".build-id", build_id[:2], build_id[2:] + ".debug"))
            out += [os.path.join(d, base + ".debug"), os.path.join(d, base)]
        for d in self.binary_dirs:
            out.append(os.path.join(d, base))
        if module.startswith("/"):
            mine = self.info(module)
            if mine is not None and mine.debuglink:
                here = os.path.dirname(module)
                out += [os.path.join(d, mine.debuglink) for d in self.debug_dirs]
                out += [os.path.join(d, here.lstrip("/"), mine.debuglink) for d in self.debug_dirs]
                out += [os.path.join(here, ".debug", mine.debuglink), os.path.join(here, mine.debuglink)]
            out.append(module)
        return out

    def find(self, module, build_id):
        """(path, ElfInfo) of the best file for module: one with debug info if any, else
        one with a symbol table, else None. A file counts only if its build-id is the
        frame's (without a build-id in the report, only the module's own path counts)."""
        key = (module, build_id)
        if key in self.cache:
            return self.cache[key]
        best = None
        for c in self.candidates(module, build_id):
            info = self.info(c)
            if info is None:
                continue
            if build_id:
                if info.build_id != build_id:
                    continue
            elif c != module:
                continue
            if info.has_debug:
                best = (c, info)
                break
            if best is None and info.has_symtab:
                best = (c, info)
        self.cache[key] = best
        return best


def addr2line_tool(explicit):
    if explicit:
        path = shutil.which(explicit)
        if not path:
            raise Failure("%s: not found (--addr2line)" % explicit)
        return path
    for name in ("eu-addr2line", "addr2line"):
        path = shutil.which(name)
        if path:
            return path
    raise Failure("symbolize needs eu-addr2line (apt-get install elfutils) or addr2line (apt-get install binutils)")


def parse_location(s):
    """"/src/a.c:42", "/src/a.c:42:7" or "a.c:42 (discriminator 3)" -> (file, line); (None, None) if unknown."""
    s = re.sub(r"\s+\(discriminator \d+\)$", "", s.strip())
    m = re.match(r"^(.*?):(\d+|\?)(?::\d+)?$", s)
    if not m:
        return (None, None) if s in ("", "??") else (s, None)
    file, line = m.group(1), m.group(2)
    if file in ("", "??"):
        return None, None
    return file, int(line) if line.isdigit() and int(line) > 0 else None


ADDRESS_LINE = re.compile(r"^0x[0-9a-fA-F]+$")


def parse_function(s):
    """addr2line's function line: eu-addr2line -i writes "inner inlined at a.c:9:13 in outer"."""
    fn = re.sub(r" inlined at .* in .*$", "", s.strip())
    return None if fn in ("", "??") else fn


def run_addr2line(tool, path, offsets):
    """{offset: [(function, file, line), ...]} for the offsets (ints, return addresses) of
    one file, one call for all: the functions inlined at that address first, innermost
    first, as addr2line -i gives them; the function whose code it is last. offset-1 is
    looked up, the call instruction, not the one after it. -a starts each address's
    answer with the address, so that answers of any length can be told apart."""
    query = "".join("0x%x\n" % (o - 1 if o > 0 else o) for o in offsets)
    try:
        p = subprocess.run([tool, "-a", "-i", "-f", "-C", "-e", path], input=query, capture_output=True,
                           text=True, errors="replace", timeout=300)
    except (OSError, subprocess.SubprocessError) as e:
        warn("%s -e %s: %s" % (tool, path, e))
        return {}
    groups = []
    for line in p.stdout.splitlines():
        if ADDRESS_LINE.match(line.strip()):
            groups.append([])
        elif groups:
            groups[-1].append(line)
    if len(groups) != len(offsets) or any(not g or len(g) % 2 for g in groups):
        warn("%s -e %s: %d answers for %d addresses; ignored%s" % (
            os.path.basename(tool), path, len(groups), len(offsets),
            (": " + p.stderr.strip().splitlines()[0]) if p.stderr.strip() else ""))
        return {}
    out = {}
    for o, g in zip(offsets, groups):
        out[o] = [(parse_function(g[k]),) + parse_location(g[k + 1]) for k in range(0, len(g), 2)]
    return out


def parse_offset(v):
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    if isinstance(v, str):
        try:
            return int(v, 16) if v.lower().startswith("0x") else int(v)
        except ValueError:
            return None
    return None


def frame_needs(f):
    return not string(f.get("function")) or not string(f.get("file")) or not isinstance(f.get("line"), int)


def symbolize(per_file, resolver, tool):
    """Fill function/file/line of the frames that lack them, in place; a frame whose
    address has calls inlined at it becomes several, the inlined ones marked as the shim
    marks them (same ip, "inlined": true). Stack ids stay: they come from the physical
    frames. Returns (frames looked at, frames completed, modules not found)."""
    wanted = collections.defaultdict(set)  # (module, build_id) -> offsets
    frames = []  # (stack, frame, key, offset)
    for _path, lines in per_file:
        for _lineno, _raw, rep in lines:
            if rep is None:
                continue
            for st in dicts(rep.d.get("stacks")):
                prev = None
                for f in dicts(st.get("frames")):
                    if string(f.get("lang")):
                        continue  # a language frame: named by its runtime, no address to look up
                    mod, off = string(f.get("module")), parse_offset(f.get("module_offset"))
                    expanded = bool(prev and prev.get("inlined") is True and prev.get("ip") == f.get("ip"))
                    prev = f
                    if mod is None or off is None or not frame_needs(f):
                        continue
                    bid = string(f.get("build_id"))
                    key = (mod, bid.lower() if bid else None)
                    wanted[key].add(off)
                    frames.append((st, f, key, off, expanded))
    answers, missing = {}, []
    by_file = collections.defaultdict(set)
    for key, offs in wanted.items():
        found = resolver.find(*key)
        if found is None:
            if not all(string(f.get("function")) for _s, f, k, _o, _e in frames if k == key):
                missing.append(key)  # worth a word: frames without even a name
            continue
        path, info = found
        if not info.has_debug and all(string(f.get("function")) for _s, f, k, _o, _e in frames if k == key):
            continue  # names only, and every frame has its name already
        by_file[path] |= offs
        answers[key] = path
    results = {path: run_addr2line(tool, path, sorted(offs)) for path, offs in by_file.items()}
    completed = 0
    inlined = {}  # id(frame) -> the frames inlined at it, innermost first
    for st, f, key, off, expanded in frames:
        path = answers.get(key)
        chain = results.get(path, {}).get(off) if path else None
        if not chain:
            continue
        fn, file, line = chain[-1]
        changed = False
        if fn and not string(f.get("function")):
            f["function"] = fn
            changed = True
        if file and not string(f.get("file")):
            f["file"] = file
            changed = True
            if line and not isinstance(f.get("line"), int):
                f["line"] = line
        if changed and len(chain) > 1 and not f.get("inlined") and not expanded:  # the shim expanded it already
            inlined[id(f)] = [dict(f, function=ifn, file=ifile, line=iline, inlined=True)
                              for ifn, ifile, iline in chain[:-1]]
        completed += changed
    if inlined:
        for st in {id(st): st for st, _f, _k, _o, _e in frames}.values():
            fl = st.get("frames")
            if any(id(f) in inlined for f in fl):
                st["frames"] = [g for f in fl for g in inlined.get(id(f), []) + [f]]
    return len(frames), completed, missing


def dump_json(d):
    return json.dumps(d, ensure_ascii=False, separators=(",", ":")) + "\n"


def symbolize_command(a):
    """sockleak report symbolize: the files' lines, with frames completed, to stdout or -o OUT."""
    per_file = read_lines(a.files)
    if not any(rep is not None for _p, lines in per_file for _n, _r, rep in lines):
        raise Failure("no sockleak report in %s" % ", ".join(input_name(p) for p, _l in per_file))
    for d in a.debug_dir + a.binary_dir:
        if not os.path.isdir(d):
            raise Failure("%s: not a directory" % d)
    tool = addr2line_tool(a.addr2line)
    resolver = Resolver(a.debug_dir, a.binary_dir)
    _looked, _completed, missing = symbolize(per_file, resolver, tool)
    for mod, bid in missing[:10]:
        warn("no file with build-id %s for %s: give --debug-dir or --binary-dir" % (bid or "(none)", mod)
             if bid else "cannot verify %s (the report has no build-id for it) and it is not here" % mod)
    if len(missing) > 10:
        warn("... and %d more modules without a file" % (len(missing) - 10))
    chunks = []
    for _path, lines in per_file:
        for _lineno, raw, rep in lines:
            if rep is None:
                chunks.append(raw if raw.endswith(b"\n") else raw + b"\n")  # kept as it was
            else:
                chunks.append(dump_json(rep.d).encode("utf-8"))
    data = b"".join(chunks)
    if not a.output or a.output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return 0
    out_dir = os.path.dirname(os.path.abspath(a.output))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".sockleak-symbolize.", dir=out_dir)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, a.output)  # OUT may be one of the inputs
    except OSError as e:
        raise Failure("cannot write %s: %s" % (a.output, e.strerror or e)) from None
    return 0

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/**
 * Just enough of an ELF reader for the stack reader: the header, the program
 * headers (to turn a symbol's address into a load bias), the dynamic symbol
 * table and one section's bytes. Only 64-bit little-endian files (x86_64 and
 * aarch64 Linux); anything else is a clear {@link ElfError}.
 */

/** Why a file could not be read as the ELF we expect. */
export class ElfError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ElfError';
  }
}

/** ELF e_machine values we name. */
export const ELF_MACHINE = { x86_64: 62, aarch64: 183 } as const;

/** One dynamic symbol we looked up. */
export interface ElfSymbol {
  /** st_value: the link-time virtual address. */
  value: number;
  /** st_size in bytes. */
  size: number;
}

/** What the stack reader needs from one executable. */
export interface ElfImage {
  /** e_machine (62 x86_64, 183 aarch64). */
  machine: number;
  /** ET_DYN (3, position-independent) or ET_EXEC (2). */
  type: number;
  /** The PT_LOAD segment that maps file offset 0 (page-aligned vaddr and offset). */
  firstLoad: { vaddr: number; offset: number };
  /** The requested dynamic symbols that exist. */
  symbols: Map<string, ElfSymbol>;
  /** The bytes of `.rodata`, or null if the file has no such section. */
  rodata: Buffer | null;
}

const SHT_DYNSYM = 11;
const PT_LOAD = 1;
const PAGE_MASK = 0xfff;
/** Sections we are willing to load whole; php-cgi's .dynsym is ~70 KB, .rodata ~430 KB. */
const MAX_SECTION_BYTES = 64 * 1024 * 1024;

/** Reads `path`'s header, PT_LOADs, the named dynamic symbols and `.rodata`. */
export function readElfImage(path: string, wantedSymbols: readonly string[]): ElfImage {
  const fd = openSync(path, 'r');
  try {
    const file = new ElfFile(fd, fstatSync(fd).size, path);
    return file.image(wantedSymbols);
  } finally {
    closeSync(fd);
  }
}

class ElfFile {
  constructor(
    private readonly fd: number,
    private readonly size: number,
    private readonly path: string,
  ) {}

  image(wantedSymbols: readonly string[]): ElfImage {
    const header = this.read(0, 64, 'the ELF header');
    if (header.readUInt32BE(0) !== 0x7f454c46) throw new ElfError(`${this.path} is not an ELF file`);
    if (header[4] !== 2 || header[5] !== 1) throw new ElfError(`${this.path} is not a 64-bit little-endian ELF file`);
    const type = header.readUInt16LE(16);
    const machine = header.readUInt16LE(18);
    const phoff = this.u64(header, 32);
    const shoff = this.u64(header, 40);
    const phentsize = header.readUInt16LE(54);
    const phnum = header.readUInt16LE(56);
    const shentsize = header.readUInt16LE(58);
    const shnum = header.readUInt16LE(60);
    const shstrndx = header.readUInt16LE(62);

    const firstLoad = this.firstLoad(phoff, phentsize, phnum);
    const sections = this.sections(shoff, shentsize, shnum);
    const dynsym = sections.find((section) => section.type === SHT_DYNSYM);
    if (!dynsym) throw new ElfError(`${this.path} has no dynamic symbol table`);
    const strtab = sections[dynsym.link];
    if (!strtab) throw new ElfError(`${this.path}: the dynamic symbol table names no string table`);
    const symbols = this.findSymbols(dynsym, strtab, new Set(wantedSymbols));

    let rodata: Buffer | null = null;
    const names = sections[shstrndx];
    if (names) {
      const nameBytes = this.sectionBytes(names, 'the section names');
      const section = sections.find((candidate) => cString(nameBytes, candidate.name) === '.rodata');
      if (section) rodata = this.sectionBytes(section, '.rodata');
    }
    return { machine, type, firstLoad, symbols, rodata };
  }

  private firstLoad(phoff: number, phentsize: number, phnum: number): { vaddr: number; offset: number } {
    if (phentsize < 56 || phnum === 0) throw new ElfError(`${this.path} has no program headers`);
    const table = this.read(phoff, phentsize * phnum, 'the program headers');
    for (let i = 0; i < phnum; i++) {
      const base = i * phentsize;
      if (table.readUInt32LE(base) !== PT_LOAD) continue;
      const offset = this.u64(table, base + 8);
      const vaddr = this.u64(table, base + 16);
      if (offset - (offset & PAGE_MASK) === 0) return { vaddr: vaddr - (vaddr & PAGE_MASK), offset: 0 };
    }
    throw new ElfError(`${this.path} has no loadable segment at file offset 0`);
  }

  private sections(shoff: number, shentsize: number, shnum: number): Section[] {
    if (shoff === 0 || shnum === 0) throw new ElfError(`${this.path} has no section headers`);
    if (shentsize < 64) throw new ElfError(`${this.path} has section headers of ${shentsize} bytes`);
    const table = this.read(shoff, shentsize * shnum, 'the section headers');
    const sections: Section[] = [];
    for (let i = 0; i < shnum; i++) {
      const base = i * shentsize;
      sections.push({
        name: table.readUInt32LE(base),
        type: table.readUInt32LE(base + 4),
        offset: this.u64(table, base + 24),
        size: this.u64(table, base + 32),
        link: table.readUInt32LE(base + 40),
        entsize: this.u64(table, base + 56),
      });
    }
    return sections;
  }

  private findSymbols(dynsym: Section, strtab: Section, wanted: Set<string>): Map<string, ElfSymbol> {
    const found = new Map<string, ElfSymbol>();
    const entsize = dynsym.entsize || 24;
    if (entsize < 24) throw new ElfError(`${this.path}: dynamic symbols of ${entsize} bytes`);
    const table = this.sectionBytes(dynsym, '.dynsym');
    const names = this.sectionBytes(strtab, '.dynstr');
    for (let base = 0; base + entsize <= table.length && found.size < wanted.size; base += entsize) {
      const name = cString(names, table.readUInt32LE(base));
      if (!wanted.has(name)) continue;
      found.set(name, { value: this.u64(table, base + 8), size: this.u64(table, base + 16) });
    }
    return found;
  }

  private sectionBytes(section: Section, what: string): Buffer {
    if (section.size > MAX_SECTION_BYTES) throw new ElfError(`${this.path}: ${what} is implausibly large (${section.size} bytes)`);
    return this.read(section.offset, section.size, what);
  }

  private read(position: number, length: number, what: string): Buffer {
    if (position < 0 || length < 0 || position + length > this.size) {
      throw new ElfError(`${this.path}: ${what} lies outside the file (offset ${position}, ${length} bytes)`);
    }
    const buffer = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const count = readSync(this.fd, buffer, done, length - done, position + done);
      if (count === 0) throw new ElfError(`${this.path}: unexpected end of file reading ${what}`);
      done += count;
    }
    return buffer;
  }

  private u64(buffer: Buffer, offset: number): number {
    const value = buffer.readBigUInt64LE(offset);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new ElfError(`${this.path}: a 64-bit field is out of range`);
    return Number(value);
  }
}

interface Section {
  name: number;
  type: number;
  offset: number;
  size: number;
  link: number;
  entsize: number;
}

/** The NUL-terminated string at `offset` ('' when out of range). */
function cString(buffer: Buffer, offset: number): string {
  if (offset >= buffer.length) return '';
  const end = buffer.indexOf(0, offset);
  return buffer.toString('latin1', offset, end < 0 ? buffer.length : end);
}

"""The fonts of every PDF (minutes, supervision papers): an office's licensed fonts first, Debian's otherwise.

GB/T 9704-2012 sets 公文 in 方正小标宋简体 (title), 仿宋_GB2312 (body), 黑体 and 楷体_GB2312 (headings).
They are licensed, so they cannot ship with the application: an office copies its font files into
the folder named by FONTS_DIR. Every PDF then declares each file there with @font-face under every
family name the file carries (read from its name table), and the stylesheets' font-family lists,
which name the official families first, pick them up. The PDF fetcher (pdf.StaticOnlyFetcher) serves
font files from that folder and nothing else of it. Without them the Noto CJK SC fonts
(fonts-noto-cjk) stand in, and characters that the chosen font lacks, such as CJK extension B in
people's names (𠀁, 𪚥), come from HanaMinB (fonts-hanazono), the last family of every list, so
PDF/A never gets a missing glyph.

`roles()` answers, for the admin's 公文字体 page, which font each role actually uses: the folder's
file, a font installed on the system (fontconfig), or the stand-in.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from fontTools.ttLib import TTCollection, TTFont

from conference.settings import get_settings

log = logging.getLogger("conference.minutes")

FONT_SUFFIXES = (".ttf", ".otf", ".ttc", ".otc")
EXTENSION_B_FAMILY = "HanaMinB"  # fonts-hanazono: all of CJK extensions B to F
EXTENSION_B_SAMPLE = 0x20001  # 𠀁


@dataclass(frozen=True)
class Role:
    key: str  # its label is in templates/admin/fonts.html
    families: tuple[str, ...]  # the official names, in the order of the stylesheets' font-family lists
    stand_in: str  # Debian's font used when none of them is there


ROLES = (
    Role("title", ("方正小标宋_GBK", "方正小标宋简体", "FZXiaoBiaoSong-B05S"), "Noto Serif CJK SC"),
    Role("body", ("FangSong_GB2312", "仿宋_GB2312", "FangSong", "仿宋"), "Noto Serif CJK SC"),
    Role("heading", ("SimHei", "黑体"), "Noto Sans CJK SC"),
    Role("subheading", ("KaiTi_GB2312", "楷体_GB2312", "KaiTi"), "Noto Serif CJK SC"),
    Role("page_number", ("SimSun", "宋体"), "Noto Serif CJK SC"),
)


def fonts_dir() -> Path | None:
    """The FONTS_DIR folder, resolved, when it is set and exists."""
    setting = get_settings().fonts_dir
    if not setting:
        return None
    folder = Path(setting).expanduser().resolve()
    return folder if folder.is_dir() else None


def is_font_in_folder(path: Path) -> bool:
    """Whether `path` (resolved) is a font file inside FONTS_DIR: the only files of it a PDF may read."""
    folder = fonts_dir()
    return (folder is not None and path.is_relative_to(folder) and path.suffix.lower() in FONT_SUFFIXES
            and path.is_file())


@lru_cache(maxsize=256)
def _family_names(path: Path, mtime_ns: int, size: int) -> tuple[str, ...]:
    """Every family name (name IDs 1 and 16, in every language) of a font file; () if unreadable."""
    try:
        if path.suffix.lower() in (".ttc", ".otc"):
            fonts = list(TTCollection(str(path), lazy=True).fonts)
        else:
            fonts = [TTFont(str(path), lazy=True)]
        names: set[str] = set()
        for font in fonts:
            for record in font["name"].names:
                if record.nameID in (1, 16):
                    try:
                        names.add(record.toUnicode().strip())
                    except UnicodeDecodeError:
                        continue
        # Names go into CSS strings: keep printable characters other than quotes and backslashes.
        return tuple(sorted({"".join(c for c in n if c.isprintable() and c not in "\"'\\") for n in names} - {""}))
    except Exception as error:  # noqa: BLE001 - fontTools raises many kinds of error for a damaged file; none may stop every PDF
        log.warning("FONTS_DIR: cannot read %s (%s); it is ignored", path, error)
        return ()


def folder_fonts() -> list[tuple[Path, tuple[str, ...]]]:
    """The font files in FONTS_DIR with their family names, by file name."""
    folder = fonts_dir()
    if folder is None:
        return []
    found = []
    for path in sorted(folder.iterdir()):
        path = path.resolve()
        if is_font_in_folder(path):
            stat = path.stat()
            if names := _family_names(path, stat.st_mtime_ns, stat.st_size):
                found.append((path, names))
    return found


def font_face_css() -> str:
    """@font-face rules for every font in FONTS_DIR, under each of its family names ("" without any)."""
    rules = []
    for path, names in folder_fonts():
        for name in names:
            rules.append(f'@font-face {{ font-family: "{name}"; src: url("{path.as_uri()}"); }}')
    return "\n".join(rules)


@dataclass(frozen=True)
class Resolved:
    role: Role
    family: str
    source: str  # "folder" | "system" | "stand-in"
    file: str


def _fc(*args: str) -> str:
    tool = shutil.which(args[0])
    if tool is None:
        return ""
    # fontconfig's own tools with a family name from this module as one argument; no shell.
    result = subprocess.run([tool, *args[1:]], capture_output=True, text=True, timeout=20, check=False)  # noqa: S603
    return result.stdout.strip()


def installed_file(family: str) -> str:
    """The file of an installed font of exactly this family (fontconfig), or "". fc-list answers
    whether the family is installed at all; fc-match which of its files a regular face uses."""
    if not _fc("fc-list", family, "family"):
        return ""
    return _fc("fc-match", "--format=%{file}", family)


def roles() -> list[Resolved]:
    """Which font each role uses in the PDFs: the first of its official families found in FONTS_DIR,
    else installed on the system, else Debian's stand-in. Blocking (runs fc-list): call in a thread."""
    in_folder = {name: path for path, names in folder_fonts() for name in names}
    result = []
    for role in ROLES:
        for family in role.families:
            if family in in_folder:
                result.append(Resolved(role, family, "folder", str(in_folder[family])))
                break
        else:
            for family in role.families:
                if file := installed_file(family):
                    result.append(Resolved(role, family, "system", file))
                    break
            else:
                result.append(Resolved(role, role.stand_in, "stand-in", installed_file(role.stand_in)))
    return result


def extension_b_font() -> tuple[str, str] | None:
    """(family, file) of an installed font that covers CJK extension B (fontconfig), or None."""
    listed = _fc("fc-list", f":charset={EXTENSION_B_SAMPLE:x}", "--format=%{family[0]}|%{file}\n")
    if not listed:
        return None
    family, _sep, file = sorted(listed.splitlines())[0].partition("|")
    return family, file

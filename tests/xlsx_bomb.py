"""Workbooks that are small on disk and large inside, as an import would meet them: the rows of a
real list followed by a long run of styled empty rows (Excel writes these when a whole column or
row range is formatted). Used by the import tests and the heavy-work benchmark."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import openpyxl

SHEET = "xl/worksheets/sheet1.xml"
HEADER = ["单位名称", "单位类别", "上级单位", "职责任务", "联络员", "联络员电话", "联络员邮箱", "分管负责人"]
COLUMNS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def styled_empty_rows_xlsx(rows: list[list[Any]], empty_rows: int, *, cells_per_row: int = 26) -> bytes:
    """An .xlsx whose first sheet holds `rows` (inline strings) and then `empty_rows` rows of
    styled empty cells. Identical rows deflate about 1000 to 1: 200,000 empty rows of 26 cells are
    some 60 MB unzipped and about 60 KB on disk."""
    workbook = openpyxl.Workbook()
    plain = io.BytesIO()
    workbook.save(plain)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(plain.getvalue())) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for info in source.infolist():
            if info.filename != SHEET:
                target.writestr(info, source.read(info.filename))
        with target.open(SHEET, "w", force_zip64=True) as sheet:
            sheet.write(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
            for number, values in enumerate(rows, start=1):
                cells = "".join(f'<c r="{COLUMNS[i]}{number}" t="inlineStr"><is><t>{_escape(str(v))}</t></is></c>'
                                for i, v in enumerate(values) if v not in (None, ""))
                sheet.write(f'<row r="{number}">{cells}</row>'.encode())
            first = len(rows) + 1
            batch: list[str] = []
            empty_row = f'<row spans="1:{cells_per_row}" s="1" customFormat="1" ht="15">' + '<c s="1"/>' * cells_per_row + "</row>"
            for _number in range(first, first + empty_rows):
                # No r="..." references (they are optional): identical rows, as in the files met.
                batch.append(empty_row)
                if len(batch) == 1000:
                    sheet.write("".join(batch).encode())
                    batch.clear()
            sheet.write("".join(batch).encode())
            sheet.write(b"</sheetData></worksheet>")
    return out.getvalue()


def unzipped_size(content: bytes) -> int:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return sum(info.file_size for info in archive.infolist())

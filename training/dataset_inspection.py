"""The child process that parses an uploaded dataset, checks it and scores its quality.

training.datasets.dataset_inspect runs `check` in a child process (core.forked.forked_run)
under an address-space and time cap: pandas and pyarrow parse untrusted bytes (a Parquet
footer that claims huge sizes, a compression bomb), and a crash or an exhausted memory here
costs that child only. It answers {"ok": true, ...what it found} or {"ok": false, "error":
"..."}. No Django here.
"""

import codecs
import csv
import io

import numpy as np

# What the check imports, for the fork server to import once (training.apps).
PRELOAD = ("training.dataset_inspection", "pandas", "pyarrow.parquet")
PARQUET_MAGIC = b"PAR1"
CHUNK_SIZE = 4 * 1024 * 1024


class Refused(Exception):
    """The file fails a check; the message says which and where."""


def quality(*, missing_ratio: float, duplicate_ratio: float, constant_ratio: float) -> float:
    """The data-quality score, 0..100 (docs/training.md, Datasets): the share of cells that are
    present, times the share of rows that are not repeats, times the share of columns that
    vary, as a percentage rounded to one decimal."""
    score = 100 * (1 - missing_ratio) * (1 - duplicate_ratio) * (1 - constant_ratio)
    return round(min(100.0, max(0.0, score)), 1)


def column_type(dtype) -> str:
    import pandas as pd

    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "integer"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype):
        return "string"
    return "other"


NUMERIC_TYPES = ("integer", "float", "boolean")


def _check_text(path: str, max_line: int) -> None:
    """Scan a CSV before the parser sees it: refuse bytes that are not UTF-8 and a line longer
    than max_line bytes (one giant line is never tokenised), naming the line."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    line, since_newline, offset = 1, 0, 0
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK_SIZE):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                bad = exc.start if exc.start < len(chunk) else len(chunk) - 1
                at = line + chunk.count(b"\n", 0, max(bad, 0))
                raise Refused(
                    f"Line {at} is not UTF-8 text (byte {offset + bad + 1:,} of the file); "
                    "save the file as UTF-8."
                ) from None
            newlines = np.flatnonzero(np.frombuffer(chunk, dtype=np.uint8) == 10)
            if len(newlines):
                gaps = np.diff(newlines) - 1 if len(newlines) > 1 else np.zeros(1, dtype=int)
                first = since_newline + int(newlines[0])
                if max(first, int(gaps.max())) > max_line:
                    at = line if first > max_line else line + 1 + int(np.argmax(gaps))
                    raise Refused(
                        f"Line {at} is longer than {max_line:,} bytes "
                        "(SAMHUB_DATASET_MAX_LINE_BYTES)."
                    )
                line += len(newlines)
                since_newline = len(chunk) - int(newlines[-1]) - 1
            else:
                since_newline += len(chunk)
            if since_newline > max_line:
                raise Refused(
                    f"Line {line} is longer than {max_line:,} bytes (SAMHUB_DATASET_MAX_LINE_BYTES)."
                )
            offset += len(chunk)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise Refused(
            f"Line {line} is not UTF-8 text (the file ends inside a character); save the file "
            "as UTF-8."
        ) from None


def _csv_header(path: str, max_line: int) -> list[str]:
    with open(path, "rb") as f:
        raw = f.readline(max_line + 1)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Refused(
            f"The header line is not UTF-8 (byte {exc.start + 1}); save the file as UTF-8."
        ) from None
    if not text.strip():
        raise Refused("The file has no header line naming its columns.")
    return next(csv.reader(io.StringIO(text)))


def _read_csv(path: str, limits: dict):
    import pandas as pd

    _check_text(path, limits["max_line_bytes"])
    header = _csv_header(path, limits["max_line_bytes"])
    _check_names(header, limits)
    try:
        frame = pd.read_csv(
            path,
            encoding="utf-8",
            encoding_errors="strict",
            nrows=limits["max_rows"] + 1,
            low_memory=False,
        )
    except UnicodeDecodeError:  # _check_text found none; kept so the parser cannot crash
        raise Refused("The file is not UTF-8 text; save it as UTF-8.") from None
    except pd.errors.EmptyDataError:
        raise Refused("The file is empty: it has no columns.") from None
    except pd.errors.ParserError as exc:
        message = str(exc).strip().replace("C error: ", "")
        raise Refused(f"The CSV is malformed: {message}.") from None
    except (ValueError, OverflowError) as exc:
        raise Refused(f"The CSV cannot be read: {exc}.") from None
    return frame


def _read_parquet(path: str, limits: dict):
    import pyarrow as pa
    import pyarrow.parquet as pq

    with open(path, "rb") as f:
        head = f.read(4)
        f.seek(0, 2)
        if f.tell() < 12:
            raise Refused("The file is too short to be Parquet.")
        f.seek(-4, 2)
        tail = f.read(4)
    if head != PARQUET_MAGIC or tail != PARQUET_MAGIC:
        raise Refused("The file is not Parquet (it does not start and end with PAR1).")
    try:
        parquet = pq.ParquetFile(path)
        metadata = parquet.metadata
        names = list(parquet.schema_arrow.names)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise Refused(f"The Parquet metadata cannot be read: {exc}.") from None
    _check_names(names, limits)
    if metadata.num_rows > limits["max_rows"]:
        raise Refused(
            f"The file declares {metadata.num_rows:,} rows, above the limit of "
            f"{limits['max_rows']:,} (SAMHUB_DATASET_MAX_ROWS)."
        )
    declared = sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
    if declared > limits["max_loaded_bytes"] or declared < 0:
        raise Refused(
            f"The file declares {declared:,} bytes of data once decompressed, above the limit "
            f"of {limits['max_loaded_bytes']:,} (SAMHUB_DATASET_MAX_LOADED_BYTES)."
        )
    try:
        table = parquet.read()
        if table.nbytes > limits["max_loaded_bytes"]:
            raise Refused(
                f"The data take {table.nbytes:,} bytes once decompressed, above the limit of "
                f"{limits['max_loaded_bytes']:,} (SAMHUB_DATASET_MAX_LOADED_BYTES)."
            )
        nested = [f.name for f in table.schema if pa.types.is_nested(f.type)]
        if nested:
            raise Refused(f"Columns must hold single values; nested columns: {', '.join(nested)}.")
        return table.to_pandas()
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise Refused(f"The Parquet data cannot be read: {exc}.") from None


def _check_names(names: list[str], limits: dict) -> None:
    if len(names) > limits["max_columns"]:
        raise Refused(
            f"The file has {len(names):,} columns, above the limit of {limits['max_columns']:,} "
            "(SAMHUB_DATASET_MAX_COLUMNS)."
        )
    seen, duplicated = set(), []
    for name in names:
        if name in seen and name not in duplicated:
            duplicated.append(name)
        seen.add(name)
    if duplicated:
        raise Refused(f"Column names must be unique; repeated: {', '.join(map(str, duplicated))}.")
    if any(not str(name).strip() for name in names):
        raise Refused("Every column needs a name; one header cell is empty.")


def inspect(path: str, format: str, target: str, limits: dict) -> dict:
    frame = _read_csv(path, limits) if format == "CSV" else _read_parquet(path, limits)
    frame.columns = [str(name) for name in frame.columns]
    rows, width = frame.shape
    if width == 0:
        raise Refused("The file is empty: it has no columns.")
    if rows == 0:
        raise Refused("The file has no rows, only a header.")
    if rows > limits["max_rows"]:
        raise Refused(
            f"The file has more than {limits['max_rows']:,} rows (SAMHUB_DATASET_MAX_ROWS)."
        )
    columns = [
        {"name": name, "type": column_type(frame[name].dtype), "missing": int(count)}
        for name, count in frame.isna().sum().items()
    ]
    types = {c["name"]: c["type"] for c in columns}
    if target not in types:
        raise Refused(
            f"There is no column {target!r} to use as the target; the columns are "
            f"{', '.join(list(types)[:20])}{' …' if len(types) > 20 else ''}."
        )
    if types[target] not in NUMERIC_TYPES:
        raise Refused(
            f"The target column {target!r} must be numeric; it holds {types[target]} values."
        )
    if columns[list(types).index(target)]["missing"] == rows:
        raise Refused(f"The target column {target!r} has no values.")
    if width < 2:
        raise Refused("The file needs at least one feature column besides the target.")
    missing = sum(c["missing"] for c in columns)
    try:
        duplicates = int(frame.duplicated().sum())
    except TypeError:  # unhashable cells cannot repeat a row the way a table means it
        duplicates = 0
    constant = [name for name in frame.columns if frame[name].nunique(dropna=False) <= 1]
    missing_ratio = missing / (rows * width)
    duplicate_ratio = duplicates / rows
    return {
        "row_count": rows,
        "columns": columns,
        "missing_ratio": missing_ratio,
        "duplicate_ratio": duplicate_ratio,
        "constant_columns": constant,
        "quality_score": quality(
            missing_ratio=missing_ratio,
            duplicate_ratio=duplicate_ratio,
            constant_ratio=len(constant) / width,
        ),
    }


def check(path: str, format: str, target: str, limits: dict) -> dict:
    """The verdict on the file, as the child answers it."""
    try:
        return {"ok": True, **inspect(path, format, target, limits)}
    except Refused as exc:
        return {"ok": False, "error": str(exc)}
    except MemoryError:
        return {
            "ok": False,
            "error": "Reading the file needs more memory than a dataset may take "
            "(SAMHUB_DATASET_CHECK_MEMORY_BYTES).",
        }

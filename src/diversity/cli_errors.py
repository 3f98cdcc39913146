"""The command line's error funnel: operating-system and device errors as one
line, and the library's advice rewritten in command-line forms
(``encoding='latin-1' (CLI: --encoding latin-1)`` becomes ``--encoding
latin-1``)."""

from __future__ import annotations

import argparse
import errno
import os
import re

__all__ = ["for_cli", "os_error", "device", "check_device", "check_out", "library_errors", "error_line",
           "device_error"]


_DEVICE = re.compile(r"(auto|cpu|cuda|mps|xpu|npu|hpu|meta)(:\d+)?")


def device(text: str) -> str:
    """``--device``: a torch device name, checked before anything runs."""
    if not _DEVICE.fullmatch(text) or (text.startswith(("auto", "cpu")) and ":" in text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a device; use auto, cpu, cuda, cuda:<index> or mps")
    return text


def check_device(device: str) -> None:
    """A GPU named by --device must be there, or the error comes now, as one line."""
    if device in ("auto", "cpu"):
        return
    try:
        import torch
    except ImportError:
        raise ValueError(f"--device {device} needs torch (pip install 'llm-diversity[embed]'); or pass --device "
                         "cpu") from None
    kind, _, index = device.partition(":")
    if kind == "cuda":
        n = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if n == 0 or (index and int(index) >= n):
            have = f"{n} CUDA device(s): " + ", ".join(f"cuda:{i}" for i in range(n)) if n else "no CUDA device"
            raise ValueError(f"--device {device}: this machine has {have}; pass --device auto or --device cpu.")
    elif kind == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ValueError(f"--device {device}: Apple MPS is not available here; pass --device auto or --device cpu.")


def check_out(out: str) -> None:
    """--out must be a folder that can be written, checked before any work is done."""
    from pathlib import Path

    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise FileExistsError(errno.EEXIST, "--out names an existing file, not a folder", out)
    folder.mkdir(parents=True, exist_ok=True)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(errno.EACCES, "--out names a folder that cannot be written", out)


# Python keywords in the library's advice, and what a command-line user types instead
_FLAGS = {"encoding": "--encoding", "format": "--format-in", "prompt_field": "--prompt-field",
          "completion_field": "--completion-field", "quality_field": "--quality-field", "quality": "--quality-field",
          "n_resamples": "--n-resamples", "seed": "--seed", "tokenizer": "--tokenizer", "ci_level": "--ci-level",
          "ci_method": "--ci-method", "aggregate": "--aggregate", "k": "--k", "length": "--length",
          "permutations": "--permutations", "device": "--device", "embedder": "--model", "model": "--model",
          "gate": "--gate", "test": "--test", "labels": "--labels"}
_SWITCHES = {"grouped=False": "--not-grouped", "ci=False": "--no-ci", "lowercase=True": "--lowercase",
             "cache=False": "--no-cache"}
_PY_THEN_CLI = re.compile(r"\w+=(?:'[^']*'(?:, '[^']*')*(?: or '[^']*')?|[\w.-]+)\s*\(CLI: ([^;)]*)(?:; ([^)]*))?\)")
_PY_COMMA_CLI = re.compile(r"\w+=(?:'[^']*'|[\w.-]+), CLI: ")
_PY_EXAMPLE = re.compile(r"\s*\(e\.g\. in Python: [^()]*\([^()]*\)\)")
_KEYWORD = re.compile(r"\b(\w+)=('[^']*'|\"[^\"]*\"|[\w.:+-]*)")


def for_cli(message: str) -> str:
    """The library's advice in command-line forms: ``encoding='latin-1' (CLI: --encoding latin-1)`` becomes
    ``--encoding latin-1``, and a bare keyword the CLI has a flag for becomes the flag."""
    message = _PY_THEN_CLI.sub(lambda m: m.group(1) + (f" ({m.group(2)})" if m.group(2) else ""), message)
    message = _PY_EXAMPLE.sub("", _PY_COMMA_CLI.sub("", message))

    def flag(m: re.Match) -> str:
        if m.group(0) in _SWITCHES:
            return _SWITCHES[m.group(0)]
        name, value = m.group(1), m.group(2).strip("'\"")
        if name not in _FLAGS:
            return m.group(0)  # a metric parameter: written the same way in a metric spec (name?param=value)
        return _FLAGS[name] + (f" {value}" if value else "")

    return _KEYWORD.sub(flag, message)


def os_error(e: OSError) -> str:
    what = e.strerror or str(e) or type(e).__name__
    where = f": {e.filename}" if e.filename else ""
    hint = {FileExistsError: " (name a new folder, or remove the file first)",
            IsADirectoryError: " (a folder, where a file was expected)",
            NotADirectoryError: " (a file, where a folder was expected)",
            PermissionError: " (no permission; choose a folder you can write, e.g. --out ./report)"}.get(type(e), "")
    if e.filename is None and e.strerror is None:
        return str(e) or type(e).__name__
    return f"{what}{where}{hint}"


def library_errors() -> tuple[type[BaseException], ...]:
    from .core.errors import InvalidParameterError, MemoryLimitError
    from .generation.config import EndpointError, ResumeError
    from .io import SampleFileError

    # the library's own errors, the standard ones its contract names (docs/errors.md), and every
    # operating-system error (a file that exists, a folder that cannot be written, a full disk)
    return (InvalidParameterError, SampleFileError, MemoryLimitError, ResumeError, EndpointError, ValueError,
            TypeError, OSError, ImportError, RuntimeError)  # RuntimeError: device errors only (error_line)


_DEVICE_WORDS = ("CUDA", "cuda", "MPS", "mps", "device", "out of memory", "cuDNN", "CUBLAS")


def device_error(e: BaseException) -> bool:
    """An error of the accelerator or its runtime (torch, ONNX Runtime): out of memory, no such device..."""
    root = type(e).__module__.split(".")[0]
    return isinstance(e, RuntimeError) and (root in ("torch", "onnxruntime") or any(w in str(e) for w in _DEVICE_WORDS))


def error_line(e: BaseException) -> str:
    """The one line ``diversity: error: ...`` says for ``e``, with CLI advice (a RuntimeError that is not
    a device error is a bug: raised again, with its traceback)."""
    if isinstance(e, RuntimeError):
        if not device_error(e):
            raise e
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        return (f"the embedding device failed ({type(e).__name__}: {first}); try --device cpu (or, for an "
                "out-of-memory error, free the device's memory)")
    if isinstance(e, OSError) and (not isinstance(e, FileNotFoundError) or e.filename is not None):
        msg = os_error(e)
    else:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
    return for_cli(msg)

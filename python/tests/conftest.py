import os
import pathlib
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
# The module from the build tree when run by hand (ctest sets PYTHONPATH).
_build = HERE.parents[1] / "build" / "python"
if "PYTHONPATH" not in os.environ and _build.is_dir():
    sys.path.insert(0, str(_build))

import mxnet_tiny  # noqa: E402


@pytest.fixture(scope="session")
def cli():
    path = os.environ.get("ANVIL_CLI") or str(HERE.parents[1] / "build" / "anvil")
    if not os.access(path, os.X_OK):
        pytest.skip(f"the anvil CLI is not built ({path})")
    return path


@pytest.fixture(scope="session")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("anvil_py")


@pytest.fixture(scope="session")
def tiny_onnx(workdir):
    import anvil
    return anvil.zoo("tiny_cnn", str(workdir / "tiny_cnn.onnx"))


@pytest.fixture(scope="session")
def tiny_mxnet(workdir):
    """PREFIX of a small MXNet checkpoint (PREFIX-symbol.json, PREFIX-0000.params)."""
    return mxnet_tiny.write_tiny_mxnet(str(workdir / "tiny_mx"))

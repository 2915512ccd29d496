import pytest

from e5ops.errors import LabError
from e5ops.lab.mirror import read_mirrors

DEB822 = """\
Types: deb
URIs: http://archive.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://security.example/debian-security
Suites: bookworm-security
Components: main
"""


@pytest.fixture
def apt_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("E5OPS_DEBIAN_MIRROR", raising=False)
    monkeypatch.delenv("E5OPS_DEBIAN_SECURITY_MIRROR", raising=False)
    (tmp_path / "sources.list.d").mkdir()
    return tmp_path


def test_deb822_sources_give_archive_and_security(apt_dir):
    (apt_dir / "sources.list.d" / "debian.sources").write_text(DEB822)
    (apt_dir / "sources.list.d" / "node.sources").write_text(
        "Types: deb\nURIs: https://other.example/node\nSuites: nodistro\n"
    )
    mirrors = read_mirrors(apt_dir)
    assert mirrors.archive == "http://archive.example/debian"
    assert mirrors.security == "http://security.example/debian-security"


def test_one_line_sources_are_read(apt_dir):
    (apt_dir / "sources.list").write_text(
        "# comment\ndeb-src http://src.example/debian bookworm main\n"
        "deb [arch=amd64] http://archive.example/debian/ bookworm main\n"
    )
    mirrors = read_mirrors(apt_dir)
    assert mirrors.archive == "http://archive.example/debian"
    assert mirrors.security is None


def test_environment_overrides_the_sources(apt_dir, monkeypatch):
    (apt_dir / "sources.list.d" / "debian.sources").write_text(DEB822)
    monkeypatch.setenv("E5OPS_DEBIAN_MIRROR", "http://mine.example/debian/")
    assert read_mirrors(apt_dir).archive == "http://mine.example/debian"


def test_no_bookworm_source_names_the_variable(apt_dir):
    (apt_dir / "sources.list").write_text("deb http://archive.example/debian trixie main\n")
    with pytest.raises(LabError, match="no Debian bookworm mirror") as caught:
        read_mirrors(apt_dir)
    assert "E5OPS_DEBIAN_MIRROR" in str(caught.value)

"""ISOXML TaskData partfields as a field source, and the one-line errors for broken files."""
from __future__ import annotations

from pathlib import Path

import pytest

from agrifleet.core.errors import FieldError
from agrifleet.core.field_files import load_fields

HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<ISO11783_TaskData VersionMajor="4" VersionMinor="3" ' \
       'ManagementSoftwareManufacturer="x" ManagementSoftwareVersion="1" DataTransferOrigin="1">\n'


def _ring(kind: int, pts: list[tuple[float, float]]) -> str:
    return f'<LSG A="{kind}">' + "".join(f'<PNT A="2" C="{lat}" D="{lon}"/>' for lon, lat in pts) + "</LSG>"


SQUARE = [(5.0, 52.0), (5.002, 52.0), (5.002, 52.001), (5.0, 52.001)]
HOLE = [(5.0008, 52.0004), (5.0012, 52.0004), (5.0012, 52.0006), (5.0008, 52.0006)]
ROCK = [(5.0015, 52.0002), (5.0016, 52.0002), (5.0016, 52.0003), (5.0015, 52.0003)]


def _write(tmp_path: Path, body: str, name: str = "TASKDATA.XML") -> Path:
    path = tmp_path / name
    path.write_text(HEAD + body + "</ISO11783_TaskData>\n", encoding="utf-8")
    return path


def test_boundary_holes_obstacles_and_skipped_types(tmp_path: Path) -> None:
    body = (f'<PFD A="PFD1" C="Kamp" D="1">'
            f'<PLN A="1">{_ring(1, SQUARE)}{_ring(2, HOLE)}</PLN>'
            f'<PLN A="6" B="rock">{_ring(1, ROCK)}</PLN>'
            f'<PLN A="5" B="road">{_ring(1, [(6.0, 53.0), (6.1, 53.0), (6.1, 53.1)])}</PLN>'
            f'</PFD>')
    (field,) = load_fields(_write(tmp_path, body))
    assert field.name == "Kamp" and field.properties["isoxml_partfield"] == "PFD1"
    assert len(field.obstacles) == 2  # the hole and the rock; the road off the field is skipped
    square_m2 = 0.002 * 111_320 * 0.6157 * 0.001 * 111_250
    assert field.area_m2 == pytest.approx(square_m2 - 0.0004 * 0.0002 / (0.002 * 0.001) * square_m2
                                          - 0.0001 * 0.0001 / (0.002 * 0.001) * square_m2, rel=0.01)


def test_several_partfields_and_external_files(tmp_path: Path) -> None:
    shifted = [(lon + 0.01, lat) for lon, lat in SQUARE]
    (tmp_path / "PFD00001.XML").write_text(
        '<?xml version="1.0" encoding="UTF-8"?><XFC>'
        f'<PFD A="PFD2" C="Oost" D="1"><PLN A="1">{_ring(1, shifted)}</PLN></PFD></XFC>', encoding="utf-8")
    body = f'<PFD A="PFD1" C="West" D="1"><PLN A="1">{_ring(1, SQUARE)}</PLN></PFD><XFR A="PFD00001" B="1"/>'
    fields = load_fields(_write(tmp_path, body))
    assert [f.name for f in fields] == ["West", "Oost"]
    assert fields[0].frame == fields[1].frame  # one farm, one local frame
    assert fields[1].boundary.centroid.x - fields[0].boundary.centroid.x == pytest.approx(0.01 * 68_600, rel=0.01)


@pytest.mark.parametrize("body, words", [
    ('<PFD A="PFD1" C="A" D="1"><PLN A="1"><LSG A="1"><PNT A="2" C="north" D="5"/></LSG></PLN></PFD>',
     "TASKDATA.XML: feature 0 ('A'): line 3: PNT needs numeric C (north) and D (east), got C='north'"),
    ('<PFD A="PFD1" C="A" D="1"><PLN A="6">' + _ring(1, SQUARE) + '</PLN></PFD>',
     "no partfield with a boundary polygon"),
    ('<PFD A="PFD1" C="A" D="1"><PLN A="1"></PLN></PFD>', "polygon has 0 exterior rings"),
    ('<XFR A="PFD00009" B="1"/>', "external file PFD00009.XML (XFR) is missing"),
    ('<PFD A="PFD1" C="A" D="1"><PLN A="1">' + _ring(1, SQUARE[:2]) + '</PLN></PFD>', "a polygon needs at least 3"),
    ('<PFD A="PFD1"', "not valid XML"),
])
def test_broken_files_give_one_line_naming_file_and_place(tmp_path: Path, body: str, words: str) -> None:
    with pytest.raises(FieldError, match=words.replace("(", r"\(").replace(")", r"\)")) as err:
        load_fields(_write(tmp_path, body))
    assert "\n" not in str(err.value) and "TASKDATA.XML" in str(err.value)


def test_other_xml_is_not_taken_for_taskdata(tmp_path: Path) -> None:
    path = tmp_path / "fields.xml"
    path.write_text("<kml/>", encoding="utf-8")
    with pytest.raises(FieldError, match=r"not ISOXML TaskData \(root element <kml>"):
        load_fields(path)

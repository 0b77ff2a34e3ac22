"""CVAT for images 1.1: export, import again, compare; CVAT's mask RLE; a file as CVAT writes it;
hostile and malformed XML; unsafe image names; the CLI; CamVid."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from labeler import cli
from labeler.core import geometry
from labeler.core.annotation import ImageAnnotation
from labeler.core.errors import FormatError
from labeler.core.jobs import JobContext
from labeler.core.project import Project
from labeler.core.schema import LabelClass, Schema, load_preset
from labeler.core.shapes import Shape
from labeler.formats import cvat, mask_png
from labeler.formats.registry import detect_format, export_project

from .voc_fixtures import noise_image

W, H = 64, 48


def ring_mask() -> np.ndarray:
    """A ring (a hole in it) plus a separate blob touching the top-left pixel."""
    yy, xx = np.mgrid[:H, :W]
    r = np.hypot(xx - 40, yy - 26)
    m = (r <= 14) & (r >= 5)
    m[0:3, 0:4] = True
    return m


def original_shapes() -> list[Shape]:
    return [
        Shape(kind="polygon", label="car", points=[[4, 4], [24, 6], [20, 22], [6, 18]], instance_id=7, z=2,
              flags={"parked": True, "proposal": False}),
        Shape(kind="rectangle", label="car", points=[[22, 20], [10, 30]], instance_id=7, z=1),
        Shape(kind="polygon", label="road", points=[[2, 30], [30, 30], [30, 46], [2, 46]],
              holes=[[[10, 34], [20, 34], [20, 42], [10, 42]]]),
        Shape(kind="mask", label="road", rle=geometry.rle_encode(ring_mask()), z=-1),
        Shape(kind="point", label="light", points=[[50.5, 3.25]]),
        Shape(kind="linestrip", label="lane", points=[[1, 1], [30, 2], [60, 10]]),
        Shape(kind="line", label="lane", points=[[5, 40], [60, 44]], z=3),
        Shape(kind="circle", label="light", points=[[56, 40], [60, 40]]),
    ]


def make_project(root: Path) -> Project:
    for name, seed in (("a.png", 1), ("b.png", 2), ("sub/c.jpg", 3)):
        noise_image(root / "images" / name, seed, (W, H))
    schema = Schema([LabelClass(0, "car", (250, 50, 83)), LabelClass(1, "road", (128, 64, 128), False),
                     LabelClass(2, "light", (250, 250, 0)), LabelClass(3, "lane", (255, 255, 255), False)])
    proj = Project.create(root, schema, splits={"train": ["images/a.png", "images/sub/c.jpg"], "val": ["images/b.png"]})
    proj.save_annotation("images/a.png", ImageAnnotation("", W, H, original_shapes(), tags={"night": True, "rain": False}))
    proj.save_annotation("images/b.png", ImageAnnotation("", W, H, [
        Shape(kind="rectangle", label="car", points=[[0, 0], [W, H]], instance_id=0)]))
    return proj


@pytest.fixture
def project(tmp_path):
    with make_project(tmp_path / "proj") as p:
        yield p


def pixels(s: Shape) -> np.ndarray:
    return geometry.shape_to_mask(s, H, W)


# ------------------------------------------------------------------------ round trip


def test_round_trip_keeps_shapes_groups_z_order_tags_and_splits(project, tmp_path):
    out = tmp_path / "out"
    ctx = JobContext()
    export_project("cvat", project, out, ctx)
    assert ctx.report.errors == [] and ctx.report.done == 3
    assert any("1 polygon(s) with holes written as CVAT masks" in w for w in ctx.report.warnings)
    assert detect_format(out) == "cvat"
    assert {p.relative_to(out / "images").as_posix() for p in (out / "images").rglob("*") if p.is_file()} == {
        "a.png", "b.png", "sub/c.jpg"}

    back = Project.create(tmp_path / "back")
    ictx = JobContext()
    cvat.import_dataset(out, back, ictx)
    assert ictx.report.errors == [] and ictx.report.warnings == [] and ictx.report.done == 3
    assert back.schema.names() == ["car", "road", "light", "lane"]  # tags are not classes
    assert back.schema.by_name("car").color == (250, 50, 83)
    by_name = {k.split("/images/", 1)[1]: k for k in back.image_keys()}
    assert {split: sorted(k.split("/images/", 1)[1] for k in keys) for split, keys in back.splits.items()} == {
        "train": ["a.png", "sub/c.jpg"], "val": ["b.png"]}

    ann = back.load(by_name["a.png"])
    assert ann.tags == {"night": True} and ann.status == "done"
    assert all(s.source == "import" for s in ann.shapes)
    kinds = {"polygon": "polygon", "rectangle": "rectangle", "mask": "mask", "point": "point",
             "linestrip": "linestrip", "line": "line", "circle": "circle"}
    got = list(ann.shapes)
    assert len(got) == len(original_shapes())
    for s, t in zip(original_shapes(), got):  # CVAT keeps the order of the shapes
        want_kind = "mask" if s.holes else kinds[s.kind]
        flags = {k: v for k, v in s.flags.items() if k != "proposal"}  # labeler's own flag stays home
        assert (t.kind, t.label, t.z, t.flags) == (want_kind, s.label, s.z, flags), (s.kind, t.kind)
        if s.is_area:
            assert geometry.mask_iou(pixels(s), pixels(t)) >= 0.99, s.kind
        else:
            assert np.allclose(t.points, s.points, atol=0.005)
    assert got[0].instance_id == got[1].instance_id == 7
    assert [s.instance_id for s in got[2:]] == [None] * 6
    assert np.array_equal(geometry.rle_decode(got[3].rle), ring_mask())  # masks are pixel-exact
    assert np.array_equal(geometry.rle_decode(got[2].rle), pixels(original_shapes()[2]))
    (b_shape,) = back.load(by_name["b.png"]).shapes
    assert b_shape.instance_id is not None and b_shape.instance_id > 0  # instance 0 is not CVAT's "no group"
    assert back.load(by_name["sub/c.jpg"]).shapes == []

    cvat.import_dataset(out, back, JobContext())  # importing again replaces, never doubles
    assert len(back.load(by_name["a.png"]).shapes) == len(original_shapes())


def test_exported_xml_is_cvat_shaped(project, tmp_path):
    out = tmp_path / "out"
    export_project("cvat", project, out, JobContext())
    root = ET.parse(out / "annotations.xml").getroot()
    assert root.tag == "annotations" and root.findtext("version") == "1.1"
    labels = {lab.findtext("name"): lab.findtext("type") for lab in root.iterfind("meta/task/labels/label")}
    assert labels == {"car": "any", "road": "any", "light": "any", "lane": "any", "night": "tag"}
    parked = root.find("meta/task/labels/label/attributes/attribute")
    assert (parked.findtext("name"), parked.findtext("input_type")) == ("parked", "checkbox")
    images = root.findall("image")
    assert [(i.get("id"), i.get("name"), i.get("subset"), i.get("width")) for i in images] == [
        ("0", "a.png", "Train", "64"), ("1", "b.png", "Validation", "64"), ("2", "sub/c.jpg", "Train", "64")]
    a = images[0]
    assert [c.tag for c in a] == ["polygon", "box", "mask", "mask", "points", "polyline", "polyline", "ellipse", "tag"]
    box = a.find("box")
    assert (box.get("xtl"), box.get("ytl"), box.get("xbr"), box.get("ybr")) == ("10.00", "20.00", "22.00", "30.00")
    assert box.get("group_id") == "7" and box.get("z_order") == "1" and box.get("occluded") == "0"
    assert [(at.get("name"), at.text) for at in a.iter("attribute")] == [("parked", "true")]
    ring = a.findall("mask")[1]
    assert (ring.get("left"), ring.get("top")) == ("0", "0") and ring.get("rle").startswith("0, 4, ")
    crop = cvat.decode_mask_rle([int(v) for v in ring.get("rle").split(", ")], int(ring.get("width")),
                                int(ring.get("height")))
    assert np.array_equal(crop, ring_mask()[:crop.shape[0], :crop.shape[1]])
    assert a.find("tag").get("label") == "night"


# ----------------------------------------------------------------------------- mask RLE


def naive_runs(mask: np.ndarray) -> list[int]:
    """Run lengths the plain way: walk the pixels row by row, counting, starting with zeros."""
    runs, value, n = [], False, 0
    for px in np.asarray(mask, bool).ravel().tolist():
        if px == value:
            n += 1
        else:
            runs.append(n)
            value, n = px, 1
    runs.append(n)
    return runs


@pytest.mark.parametrize("mask, runs", [
    (np.zeros((3, 4), bool), [12]),
    (np.ones((3, 4), bool), [0, 12]),
    (np.ones((1, 1), bool), [0, 1]),
    (np.zeros((1, 1), bool), [1]),
    (np.eye(3, dtype=bool), [0, 1, 3, 1, 3, 1]),
    (np.array([[0, 0, 1], [1, 0, 0]], bool), [2, 2, 2]),
])
def test_mask_rle_edge_cases(mask, runs):
    assert cvat.encode_mask_rle(mask) == runs == naive_runs(mask)
    assert np.array_equal(cvat.decode_mask_rle(runs, mask.shape[1], mask.shape[0]), mask)


def test_mask_rle_matches_a_plain_run_length_count_on_random_masks():
    rng = np.random.default_rng(0)
    for _ in range(40):
        h, w = rng.integers(1, 30, 2)
        mask = rng.random((h, w)) < rng.uniform(0.05, 0.95)
        runs = cvat.encode_mask_rle(mask)
        assert runs == naive_runs(mask) and sum(runs) == h * w
        assert np.array_equal(cvat.decode_mask_rle(runs, w, h), mask)


def test_mask_rle_short_runs_are_padded_and_bad_runs_refused():
    assert np.array_equal(cvat.decode_mask_rle([1, 2], 2, 2), np.array([[0, 1], [1, 0]], bool))
    with pytest.raises(ValueError, match="more than its 2 x 2 box"):
        cvat.decode_mask_rle([1, 4], 2, 2)
    with pytest.raises(ValueError, match="negative"):
        cvat.decode_mask_rle([3, -1], 2, 2)


# ------------------------------------------------------------------- a file as CVAT writes it

CVAT_XML = """<?xml version="1.0" encoding="utf-8"?>
<annotations>
  <version>1.1</version>
  <meta>
    <task>
      <id>12</id>
      <name>street</name>
      <size>2</size>
      <mode>annotation</mode>
      <overlap>0</overlap>
      <bugtracker></bugtracker>
      <created>2024-03-01 10:00:00.000000+00:00</created>
      <updated>2024-03-01 10:04:00.000000+00:00</updated>
      <subset>default</subset>
      <start_frame>0</start_frame>
      <stop_frame>1</stop_frame>
      <frame_filter></frame_filter>
      <segments>
        <segment>
          <id>31</id>
          <start>0</start>
          <stop>1</stop>
          <url>http://localhost:8080/api/jobs/31</url>
        </segment>
      </segments>
      <owner>
        <username>admin</username>
        <email></email>
      </owner>
      <assignee></assignee>
      <labels>
        <label>
          <name>car</name>
          <color>#fa3253</color>
          <type>any</type>
          <attributes>
            <attribute>
              <name>parked</name>
              <mutable>False</mutable>
              <input_type>checkbox</input_type>
              <default_value>false</default_value>
              <values>false</values>
            </attribute>
            <attribute>
              <name>colour</name>
              <mutable>False</mutable>
              <input_type>select</input_type>
              <default_value>red</default_value>
              <values>red
blue</values>
            </attribute>
          </attributes>
        </label>
        <label>
          <name>road</name>
          <color>#8032ff</color>
          <type>mask</type>
          <attributes>
          </attributes>
        </label>
        <label>
          <name>sign</name>
          <color>#33ddff</color>
          <type>points</type>
          <attributes>
          </attributes>
        </label>
        <label>
          <name>night</name>
          <color>#3d3df5</color>
          <type>tag</type>
          <attributes>
          </attributes>
        </label>
      </labels>
    </task>
    <dumped>2024-03-01 10:05:00.000000+00:00</dumped>
  </meta>
  <image id="0" name="frame_000.png" width="64" height="48">
    <box label="car" source="manual" occluded="1" xtl="4.00" ytl="6.00" xbr="20.00" ybr="18.00" z_order="1" group_id="3">
      <attribute name="parked">true</attribute>
      <attribute name="colour">blue</attribute>
    </box>
    <polygon label="car" source="manual" occluded="0" points="20.00,10.00;30.00,10.00;30.00,20.00" z_order="1" group_id="3">
      <attribute name="parked">false</attribute>
      <attribute name="colour">red</attribute>
    </polygon>
    <mask label="road" source="semi-auto" occluded="0" rle="1, 2, 2, 5, 4, 1" left="2" top="30" width="5" height="3" z_order="0">
    </mask>
    <points label="sign" source="manual" occluded="0" points="40.50,5.00;44.00,6.25;48.00,5.50" z_order="0">
    </points>
    <ellipse label="sign" source="manual" occluded="0" cx="50.00" cy="30.00" rx="8.00" ry="4.00" rotation="90.00" z_order="0">
    </ellipse>
    <cuboid label="car" source="manual" occluded="0" xtl1="1" ytl1="1" xbl1="1" ybl1="2" xtr1="2" ytr1="1" xbr1="2" ybr1="2" xtl2="1" ytl2="1" xbl2="1" ybl2="2" xtr2="2" ytr2="1" xbr2="2" ybr2="2" z_order="0">
    </cuboid>
    <tag label="night" source="manual">
    </tag>
  </image>
  <image id="1" name="sub/frame_001.png" width="64" height="48">
    <polyline label="road" source="auto" occluded="0" points="1.00,1.00;10.00,1.00;10.00,10.00" z_order="2">
    </polyline>
    <box label="car" source="manual" occluded="0" xtl="10.00" ytl="10.00" xbr="30.00" ybr="20.00" rotation="90.00" z_order="0">
    </box>
  </image>
</annotations>
"""


def cvat_folder(root: Path, xml: str = CVAT_XML, names=("frame_000.png", "sub/frame_001.png")) -> Path:
    for i, name in enumerate(names):
        noise_image(root / "images" / name, i, (W, H))
    (root / "annotations.xml").write_text(xml, "utf-8")
    return root


def test_a_file_written_by_cvat_imports(tmp_path):
    src = cvat_folder(tmp_path / "task")
    assert detect_format(src) == "cvat" and cvat.detect(src / "annotations.xml")
    proj = Project.create(tmp_path / "proj")
    ctx = JobContext()
    cvat.import_dataset(src / "annotations.xml", proj, ctx)
    assert ctx.report.errors == [] and ctx.report.done == 2
    assert ctx.report.warnings == [f"{src / 'annotations.xml'}: 1 <cuboid> element(s) not read: labeler has no "
                                   "cuboid shapes"]
    assert proj.schema.names() == ["car", "road", "sign"] and proj.schema.by_name("road").color == (128, 50, 255)
    a = proj.load("../task/images/frame_000.png")
    assert a.tags == {"night": True}
    box, poly, mask, *points, ellipse = a.shapes
    assert (box.kind, box.instance_id, box.z, box.flags) == ("rectangle", 3, 1, {"parked": True})
    assert box.extra["cvat"] == {"source": "manual", "occluded": True, "attributes": {"colour": "blue"}}
    assert np.allclose(box.points, [[4, 6], [20, 18]])
    assert (poly.kind, poly.instance_id, poly.flags) == ("polygon", 3, {"parked": False})
    expected = np.zeros((H, W), bool)
    expected[30:33, 2:7] = [[0, 1, 1, 0, 0], [1, 1, 1, 1, 1], [0, 0, 0, 0, 1]]
    assert mask.kind == "mask" and np.array_equal(geometry.rle_decode(mask.rle), expected)
    assert [p.kind for p in points] == ["point"] * 3
    assert np.allclose(np.vstack([p.points for p in points]), [[40.5, 5], [44, 6.25], [48, 5.5]])
    x0, y0, x1, y1 = ellipse.bbox()  # rotated by 90 degrees: 8 tall, 4 wide
    assert ellipse.kind == "polygon" and np.allclose([x0, y0, x1, y1], [46, 22, 54, 38], atol=0.05)
    b = proj.load("../task/images/sub/frame_001.png")
    line, rotated = b.shapes
    assert (line.kind, line.z, line.extra["cvat"]["source"]) == ("linestrip", 2, "auto")
    assert rotated.kind == "polygon" and np.allclose(rotated.bbox(), [15, 5, 25, 25])

    out = tmp_path / "again"  # the point set goes back out as one <points>, attributes as they came
    export_project("cvat", proj, out, JobContext())
    image = ET.parse(out / "annotations.xml").getroot().find("image")
    (pts,) = image.findall("points")
    assert pts.get("points") == "40.50,5.00;44.00,6.25;48.00,5.50"
    box_el = image.find("box")
    assert box_el.get("occluded") == "1" and box_el.get("source") == "manual"
    assert {a.get("name"): a.text for a in box_el.iterfind("attribute")} == {"parked": "true", "colour": "blue"}
    assert image.find("mask").get("rle") == "1, 2, 2, 5, 4, 1"


# ----------------------------------------------------------------------------- bad input


def nothing_written(proj: Project) -> bool:
    return proj.image_keys() == [] and not any((proj.root / "annotations").rglob("*.json"))


@pytest.mark.parametrize("text, match", [
    ("<annotations><version>1.1</version><image id='0' name='a.png'>", "not valid XML"),
    ("<annotation><folder>VOC</folder></annotation>", "not a CVAT annotations file"),
    ('<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
     ' <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">\n'
     ' <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">\n]>\n'
     '<annotations><version>1.1</version><image id="0" name="&lol3;" width="1" height="1"/></annotations>',
     "refused: the XML declares entities"),
    ('<?xml version="1.0"?>\n<!DOCTYPE a [<!ENTITY ext SYSTEM "file:///etc/passwd">]>\n'
     '<annotations><version>&ext;</version></annotations>', "refused"),
])
def test_malformed_and_hostile_xml_is_refused_in_one_line(tmp_path, text, match):
    src = cvat_folder(tmp_path / "task", text)
    proj = Project.create(tmp_path / "proj")
    with pytest.raises(FormatError, match=match) as e:
        cvat.import_dataset(src, proj, JobContext())
    assert "\n" not in str(e.value) and str(src / "annotations.xml") in str(e.value)
    assert nothing_written(proj)


def test_unsafe_image_names_are_refused_per_image(tmp_path):
    noise_image(tmp_path / "x.jpg", 5, (W, H))
    xml = CVAT_XML.replace('name="sub/frame_001.png"', 'name="../x.jpg"')
    xml = xml.replace('<image id="0" name="frame_000.png"', '<image id="2" name="/etc/x.jpg" width="1" height="1">'
                      '</image>\n  <image id="0" name="frame_000.png"')
    src = cvat_folder(tmp_path / "task", xml, names=("frame_000.png",))
    proj = Project.create(tmp_path / "proj")
    ctx = JobContext()
    cvat.import_dataset(src, proj, ctx)
    assert ctx.report.done == 1 and proj.image_keys() == ["../task/images/frame_000.png"]
    assert len(ctx.report.errors) == 2
    assert "image '/etc/x.jpg'" in ctx.report.errors[0] and "absolute path" in ctx.report.errors[0]
    assert "image '../x.jpg'" in ctx.report.errors[1] and "resolves outside" in ctx.report.errors[1]
    assert all(str(src / "annotations.xml") in e and "image skipped" in e for e in ctx.report.errors)


def test_broken_shapes_are_reported_and_the_rest_kept(tmp_path):
    xml = CVAT_XML.replace('points="20.00,10.00;30.00,10.00;30.00,20.00"', 'points="20.00,10.00;30.00"')
    xml = xml.replace('rle="1, 2, 2, 5, 4, 1"', 'rle="1, 2, 2, 50"')
    src = cvat_folder(tmp_path / "task", xml)
    proj = Project.create(tmp_path / "proj")
    ctx = JobContext()
    cvat.import_dataset(src, proj, ctx)
    assert ctx.report.done == 2 and len(ctx.report.errors) == 2
    assert "image 'frame_000.png': <polygon> #1 (car): points are not 'x,y;x,y' pairs" in ctx.report.errors[0]
    assert "<mask> #2 (road): rle covers 55 pixels, more than its 5 x 3 box" in ctx.report.errors[1]
    assert [s.kind for s in proj.load("../task/images/frame_000.png").shapes] == ["rectangle"] + ["point"] * 3 + [
        "polygon"]


def test_a_mask_reaching_past_the_image_is_clipped(tmp_path):
    src = cvat_folder(tmp_path / "task", CVAT_XML.replace('left="2" top="30"', 'left="61" top="46"'))
    proj = Project.create(tmp_path / "proj")
    ctx = JobContext()
    cvat.import_dataset(src, proj, ctx)
    assert ctx.report.errors == []
    mask = next(s for s in proj.load("../task/images/frame_000.png").shapes if s.kind == "mask")
    expected = np.zeros((H, W), bool)
    expected[46:48, 61:64] = [[0, 1, 1], [1, 1, 1]]
    assert np.array_equal(geometry.rle_decode(mask.rle), expected)


# ------------------------------------------------------------------------------------ CLI


def test_cli_export_and_import_exit_codes(project, tmp_path, capsys):
    project.close()
    out = tmp_path / "out"
    assert cli.main(["export", "cvat", "--project", str(project.root), "--out", str(out), "-q"]) == 0
    assert (out / "annotations.xml").is_file() and (out / "images" / "a.png").is_file()
    capsys.readouterr()
    assert cli.main(["import", "cvat", str(out), "--project", str(tmp_path / "back"), "-q"]) == 0
    stdout, _ = capsys.readouterr()
    assert "3 images added" in stdout

    (out / "images" / "b.png").unlink()  # one image missing: reported, exit 1
    assert cli.main(["import", "cvat", str(out / "annotations.xml"), "--project", str(tmp_path / "b2"), "-q"]) == 1
    _, stderr = capsys.readouterr()
    assert "image 'b.png': image not found" in stderr

    (out / "annotations.xml").write_text("<annotations><version>1.1</version>", "utf-8")
    assert cli.main(["import", "cvat", str(out), "--project", str(tmp_path / "b3"), "-q"]) == 1
    _, stderr = capsys.readouterr()
    (line,) = stderr.strip().splitlines()
    assert line.startswith("labeler: error: ") and "not valid XML" in line
    assert not (tmp_path / "b3").exists()


# ---------------------------------------------------------------------------------- CamVid


@pytest.mark.camvid
def test_camvid_val_round_trip_is_pixel_faithful(camvid, tmp_path):
    stems = (camvid / "val.txt").read_text().split()[:3]
    src = tmp_path / "subset"
    (src / "images").mkdir(parents=True)
    (src / "masks").mkdir()
    for stem in stems:
        (src / "images" / f"{stem}.png").symlink_to(camvid / "val" / f"{stem}.png")
        (src / "masks" / f"{stem}.png").symlink_to(camvid / "valannot" / f"{stem}.png")
    proj = Project.create(tmp_path / "proj")
    mask_png.import_dataset(src, proj, JobContext(), images="images", masks="masks", schema="camvid")
    out = tmp_path / "out"
    ctx = JobContext()
    export_project("cvat", proj, out, ctx)
    assert ctx.report.errors == [] and ctx.report.done == 3
    back = Project.create(tmp_path / "back")
    ictx = JobContext()
    cvat.import_dataset(out, back, ictx)
    assert ictx.report.errors == [] and ictx.report.done == 3
    schema = load_preset("camvid")
    for stem in stems:
        truth = np.asarray(Image.open(camvid / "valannot" / f"{stem}.png"))
        (key,) = [k for k in back.image_keys() if Path(k).stem == stem]
        ann = back.load(key)
        assert {s.kind for s in ann.shapes} == {"mask"}
        classes = {c for c in np.unique(truth).tolist() if c != schema.ignore_index}
        assert {schema.by_name(s.label).id for s in ann.shapes} == classes
        for c in classes:
            got = np.zeros(truth.shape, bool)
            for s in ann.shapes:
                if s.label == schema.by_id(c).name:
                    got |= geometry.rle_decode(s.rle)
            assert geometry.mask_iou(got, truth == c) >= 0.99, (stem, c)

"""Layer names for EXR mattes and PNG matte output."""

import numpy as np
from PIL import Image

from mattetrack.export.channels import layer_names, matte_channel, sanitize_layer_name
from mattetrack.export.png import label_image, write_matte_png


def test_sanitize_layer_name():
    assert sanitize_layer_name("dog") == "dog"
    assert sanitize_layer_name("red car.01") == "red_car_01"
    assert sanitize_layer_name("3d-thing") == "_3d_thing"
    assert sanitize_layer_name("  ") == "object"
    assert sanitize_layer_name("Ünïcode") == "_n_code"


def test_layer_names_unique_and_prefixed_on_clash():
    assert layer_names(["my dog", "my-dog", "cat"]) == ["my_dog", "my_dog_2", "cat"]
    # A plate that already has a `dog` layer: ours becomes matte_dog.
    assert layer_names(["dog", "rgba"], reserved=["dog", "RGBA"]) == ["matte_dog", "matte_rgba"]
    assert matte_channel("dog") == "dog.A"


def test_single_object_png_is_8bit_grey_coverage(tmp_path):
    cov = np.linspace(0, 1, 64 * 32, dtype=np.float32).reshape(32, 64)
    path = tmp_path / "m.png"
    write_matte_png(path, [cov])
    img = Image.open(path)
    assert img.mode == "L" and img.size == (64, 32)
    np.testing.assert_allclose(np.asarray(img) / 255.0, cov, atol=0.5 / 255 + 1e-6)


def test_several_objects_png_is_palette_labels(tmp_path):
    a = np.zeros((10, 10), np.float32)
    b = np.zeros((10, 10), np.float32)
    a[:, :5] = 0.9
    b[:, 4:8] = 1.0  # overlaps a on column 4: b covers more there
    b[0, 7] = 0.4  # below 0.5: background
    labels = label_image([a, b])
    assert labels[5, 0] == 1 and labels[5, 4] == 2 and labels[5, 9] == 0 and labels[0, 7] == 0
    path = tmp_path / "labels.png"
    write_matte_png(path, [a, b])
    img = Image.open(path)
    assert img.mode == "P"
    np.testing.assert_array_equal(np.asarray(img), labels)
    assert img.getpalette()[3:6] != [0, 0, 0]  # object 1 is not drawn black

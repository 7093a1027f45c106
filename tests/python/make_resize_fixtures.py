#!/usr/bin/env python3
"""PIL references for dnnfi's GTSRB resize: writes OUT/<name>.ppm inputs and OUT/<name>.raw,
PIL's Image.resize((50, 50), BILINEAR) of each (what torchvision's Resize([50, 50]) does on PIL
images). Inputs: the real GTSRB sample PPMs (32x32, enlarged) and, to exercise shrinking with
antialiasing, each sample enlarged by PIL to the official images' typical sizes (64..128 px).
Usage: make_resize_fixtures.py GTSRB_SAMPLE_DIR OUT
"""
import os
import sys

from PIL import Image

src, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
images = sorted(os.listdir(os.path.join(src, "Final_Test", "Images")))[:40]
sizes = [None, (64, 61), (97, 103), (128, 120)]
count = 0
for i, name in enumerate(images):
    image = Image.open(os.path.join(src, "Final_Test", "Images", name)).convert("RGB")
    size = sizes[i % len(sizes)]
    if size:
        image = image.resize(size, Image.BICUBIC)
    stem = f"{os.path.splitext(name)[0]}-{image.width}x{image.height}"
    image.save(os.path.join(out, stem + ".ppm"))
    with open(os.path.join(out, stem + ".raw"), "wb") as f:
        f.write(image.resize((50, 50), Image.BILINEAR).tobytes())
    count += 1
print(f"{count} resize references in {out}")

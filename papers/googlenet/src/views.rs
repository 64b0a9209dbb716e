//! The 144-crop test of §7 (Table 3): "we resize the image to 4 scales where the shorter dimension
//! (height or width) is 256, 288, 320 and 352 respectively, take the left, center and right square
//! of these resized images (in the case of portrait images, we take the top, center and bottom
//! squares). For each square, we then take the 4 corners and the center 224×224 crop as well as
//! the square resized to 224×224, and their mirrored versions." The recipe's `eval_resize` is not
//! used: the four scales replace it.

use image::RgbImage;
use image::imageops::{self, FilterType};
use repro_common::data::imagenet::{EvalViews, FolderPreprocess, resize_shorter, ten_crop_corners};

/// The shorter sides of §7's four scales.
pub const SCALES: [usize; 4] = [256, 288, 320, 352];

/// 4 scales × 3 squares × 6 crops × 2 mirrors; per square, the six plain views (four corners,
/// centre, the whole square) come first, then their mirrors in the same order.
pub struct MultiScaleCrops;

impl MultiScaleCrops {
    /// The `data.folder.eval_crops` of recipes tested this way.
    pub const COUNT: usize = 144;
}

impl EvalViews for MultiScaleCrops {
    fn count(&self) -> usize {
        Self::COUNT
    }

    fn write(&self, img: &RgbImage, setup: &FolderPreprocess, out: &mut [f32]) {
        let crop = setup.crop;
        let per_view = 3 * crop * crop;
        let mut views = out.chunks_exact_mut(per_view);
        for side in SCALES {
            for square in squares(&resize_shorter(img, side)) {
                let (w, h) = square.dimensions();
                let whole = imageops::resize(&square, crop as u32, crop as u32, FilterType::Triangle);
                for flip in [false, true] {
                    for at in ten_crop_corners(w, h, crop as u32) {
                        setup.write_window(&square, at, flip, views.next().expect("144 views"));
                    }
                    setup.write_window(&whole, (0, 0), flip, views.next().expect("144 views"));
                }
            }
        }
    }
}

/// The left, centre and right squares of a landscape image (top, centre and bottom of a
/// portrait), each with side the shorter dimension.
pub fn squares(img: &RgbImage) -> [RgbImage; 3] {
    let (w, h) = img.dimensions();
    let side = w.min(h);
    let at = |i: u32| if w >= h { ((w - side) * i / 2, 0) } else { (0, (h - side) * i / 2) };
    std::array::from_fn(|i| {
        let (x, y) = at(i as u32);
        imageops::crop_imm(img, x, y, side, side).to_image()
    })
}

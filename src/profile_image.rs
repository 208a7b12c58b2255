//! Profile images: checked by content (never by name or declared type),
//! decoded under memory limits, scaled to fit 512×512 and re-encoded, which
//! also drops metadata such as the camera's location. Stored as files under
//! `<upload dir>/profile-images/` (shared storage when several nodes run).

use std::io::Cursor;
use std::path::{Path, PathBuf};

use image::{DynamicImage, ImageFormat, ImageReader, Limits};
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// Largest upload accepted, in bytes (5 MiB).
pub const MAX_IMAGE_BYTES: usize = 5 * 1024 * 1024;
/// Largest stored width and height, in pixels.
pub const MAX_SIDE: u32 = 512;
const SUBDIRECTORY: &str = "profile-images";

/// A checked, re-encoded image.
#[derive(Debug, Clone)]
pub struct Processed {
    /// The encoded image.
    pub bytes: Vec<u8>,
    /// `image/jpeg` (opaque images) or `image/png` (with transparency).
    pub content_type: &'static str,
    /// File extension.
    pub extension: &'static str,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// Check and re-encode an upload. Errors: a message for the `image` field.
pub fn process(upload: &[u8]) -> Result<Processed, String> {
    let refused = || "must be a JPEG, PNG or WebP image".to_owned();
    let format = image::guess_format(upload).map_err(|_| refused())?;
    if !matches!(format, ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP) {
        return Err(refused());
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(8_000);
    limits.max_image_height = Some(8_000);
    limits.max_alloc = Some(256 * 1024 * 1024);
    let mut reader = ImageReader::with_format(Cursor::new(upload), format);
    reader.limits(limits);
    let decoded = reader
        .decode()
        .map_err(|_| "could not be read as an image of its type (damaged, or larger than 8000×8000)".to_owned())?;
    let scaled = if decoded.width() > MAX_SIDE || decoded.height() > MAX_SIDE {
        decoded.thumbnail(MAX_SIDE, MAX_SIDE)
    } else {
        decoded
    };
    let mut bytes = Cursor::new(Vec::new());
    let (content_type, extension) = if scaled.color().has_alpha() {
        DynamicImage::ImageRgba8(scaled.to_rgba8())
            .write_to(&mut bytes, ImageFormat::Png)
            .map_err(|e| format!("could not be re-encoded: {e}"))?;
        ("image/png", "png")
    } else {
        let rgb = DynamicImage::ImageRgb8(scaled.to_rgb8());
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 85)
            .encode_image(&rgb)
            .map_err(|e| format!("could not be re-encoded: {e}"))?;
        ("image/jpeg", "jpg")
    };
    Ok(Processed {
        bytes: bytes.into_inner(),
        content_type,
        extension,
        width: scaled.width(),
        height: scaled.height(),
    })
}

fn path_of(dir: &Path, name: &str) -> Option<PathBuf> {
    let safe = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        && !name.contains("..");
    safe.then(|| dir.join(SUBDIRECTORY).join(name))
}

/// Write an image for `user`; returns its stored name.
pub async fn store(dir: &Path, user: Uuid, image: &Processed) -> AppResult<String> {
    let name = format!("{}-{}.{}", user.simple(), Uuid::new_v4().simple(), image.extension);
    let folder = dir.join(SUBDIRECTORY);
    let failed = |e: std::io::Error| AppError::Internal(anyhow::anyhow!("storing a profile image: {e}"));
    tokio::fs::create_dir_all(&folder).await.map_err(failed)?;
    let partial = folder.join(format!("{name}.partial"));
    tokio::fs::write(&partial, &image.bytes).await.map_err(failed)?;
    tokio::fs::rename(&partial, folder.join(&name)).await.map_err(failed)?;
    Ok(name)
}

/// Read a stored image: its content type and bytes (None when the file is gone).
pub async fn load(dir: &Path, name: &str) -> AppResult<Option<(&'static str, Vec<u8>)>> {
    let Some(path) = path_of(dir, name) else {
        return Ok(None);
    };
    let content_type = if name.ends_with(".png") {
        "image/png"
    } else {
        "image/jpeg"
    };
    match tokio::fs::read(path).await {
        Ok(bytes) => Ok(Some((content_type, bytes))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(AppError::Internal(anyhow::anyhow!("reading a profile image: {e}"))),
    }
}

/// Delete a stored image (best effort: a leftover file is logged, not fatal).
pub async fn remove(dir: &Path, name: &str) {
    if let Some(path) = path_of(dir, name)
        && let Err(e) = tokio::fs::remove_file(path).await
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(error = %e, "a replaced profile image could not be deleted");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32, alpha: bool) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        let image = if alpha {
            DynamicImage::ImageRgba8(image::RgbaImage::from_pixel(
                width,
                height,
                image::Rgba([10, 20, 30, 128]),
            ))
        } else {
            DynamicImage::ImageRgb8(image::RgbImage::from_pixel(width, height, image::Rgb([10, 20, 30])))
        };
        image.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn large_opaque_images_are_scaled_and_become_jpeg() {
        let out = process(&png(2000, 1000, false)).unwrap();
        assert_eq!((out.width, out.height, out.content_type), (512, 256, "image/jpeg"));
        assert_eq!(image::guess_format(&out.bytes).unwrap(), ImageFormat::Jpeg);
    }

    #[test]
    fn transparent_images_stay_png_and_small_ones_keep_their_size() {
        let out = process(&png(100, 80, true)).unwrap();
        assert_eq!((out.width, out.height, out.content_type), (100, 80, "image/png"));
    }

    #[test]
    fn content_is_sniffed_not_trusted() {
        assert!(process(b"GIF89a\x01\x00\x01\x00").is_err(), "GIF is not accepted");
        assert!(process(b"<svg xmlns='http://www.w3.org/2000/svg'/>").is_err());
        let mut truncated = png(50, 50, false);
        truncated.truncate(60);
        assert!(process(&truncated).is_err(), "a damaged PNG is refused");
    }

    #[test]
    fn stored_names_cannot_escape_the_folder() {
        assert!(path_of(Path::new("/u"), "../etc/passwd").is_none());
        assert!(path_of(Path::new("/u"), "a/b.jpg").is_none());
        assert!(path_of(Path::new("/u"), "abc-def.jpg").is_some());
    }
}

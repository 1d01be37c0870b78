// Images in: decode a file (respecting EXIF orientation, without colour management or premultiplied
// alpha) into RGBA at its original size, ready to transfer to the worker.

/** Decodes a Blob/File into {bitmap, rgba: ImageData}. Throws a readable error for non-images. */
export async function decodeImage(blob) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(blob, { imageOrientation: "from-image", premultiplyAlpha: "none", colorSpaceConversion: "none" });
  } catch {
    throw new Error(`could not decode ${blob.name ? `“${blob.name}”` : "the image"} (${blob.type || "unknown type"}): is it a PNG, JPEG, WebP or GIF?`);
  }
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(bitmap, 0, 0);
  return { bitmap, rgba: ctx.getImageData(0, 0, bitmap.width, bitmap.height) };
}

/** Fetches and decodes an image URL (relative URLs resolve against the page). */
export async function fetchImage(url) {
  let response;
  try {
    response = await fetch(new URL(url, location.href));
  } catch (error) {
    throw new Error(`could not fetch image ${url} (${error.message})`);
  }
  if (!response.ok) throw new Error(`image ${url} answered HTTP ${response.status}`);
  return decodeImage(await response.blob());
}

/** The first image file among `files`, or null. */
export function firstImage(files) {
  return [...files].find((f) => f.type.startsWith("image/")) ?? null;
}

import exifr from 'exifr';

/** What Plumage keeps from EXIF: when and where the photo was taken. */
export interface PhotoExif {
  takenAt: string | null; // ISO 8601 local wall-clock time (EXIF has no zone)
  gpsLat: number | null;
  gpsLon: number | null;
}

const NONE: PhotoExif = { takenAt: null, gpsLat: null, gpsLon: null };

/**
 * Reads DateTimeOriginal and GPS position. Broken or absent EXIF is never an error: a photo without
 * metadata is still a photo, so every failure yields nulls.
 */
export async function readExif(bytes: Uint8Array): Promise<PhotoExif> {
  let data: Record<string, unknown> | undefined;
  try {
    data = await exifr.parse(bytes, {
      tiff: true,
      exif: true,
      gps: true,
      xmp: false,
      icc: false,
      iptc: false,
    });
  } catch {
    return NONE;
  }
  if (!data) return NONE;
  const finite = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? x : null);
  let takenAt: string | null = null;
  const d = data.DateTimeOriginal ?? data.CreateDate;
  // EXIF dates carry no time zone and exifr builds them in local time: keep the wall-clock time.
  if (d instanceof Date && !Number.isNaN(d.getTime())) takenAt = localIso(d);
  else if (typeof d === 'string' && d.trim()) takenAt = d.trim();
  const lat = finite(data.latitude);
  const lon = finite(data.longitude);
  const valid = lat !== null && lon !== null && Math.abs(lat) <= 90 && Math.abs(lon) <= 180;
  return { takenAt, gpsLat: valid ? lat : null, gpsLon: valid ? lon : null };
}

function localIso(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getFullYear(), 4)}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

// geo.js: coordinates for the map page: GeoJSON bounding boxes, WGS-84 to
// GCJ-02 for Chinese base maps, and Leaflet bounds.

import * as L from './vendor/leaflet.js';

const PI = Math.PI;
const GCJ_A = 6378245.0;
const GCJ_EE = 0.00669342162296594323;

const outOfChina = (lon, lat) => lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271;

function gcjLat(x, y) {
  let r = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
  r += ((20 * Math.sin(6 * x * PI) + 20 * Math.sin(2 * x * PI)) * 2) / 3;
  r += ((20 * Math.sin(y * PI) + 40 * Math.sin((y / 3) * PI)) * 2) / 3;
  r += ((160 * Math.sin((y / 12) * PI) + 320 * Math.sin((y * PI) / 30)) * 2) / 3;
  return r;
}

function gcjLon(x, y) {
  let r = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
  r += ((20 * Math.sin(6 * x * PI) + 20 * Math.sin(2 * x * PI)) * 2) / 3;
  r += ((20 * Math.sin(x * PI) + 40 * Math.sin((x / 3) * PI)) * 2) / 3;
  r += ((150 * Math.sin((x / 12) * PI) + 300 * Math.sin((x / 30) * PI)) * 2) / 3;
  return r;
}

/**
 * WGS-84 [lon, lat] to GCJ-02, the offset coordinates of Chinese base maps
 * (高德, 腾讯): for drawing what the server did not convert (a file being
 * uploaded, the places of its problems) on such a base map.
 */
export function wgs84ToGcj02(lon, lat) {
  if (outOfChina(lon, lat)) return [lon, lat];
  let dLat = gcjLat(lon - 105, lat - 35);
  let dLon = gcjLon(lon - 105, lat - 35);
  const radLat = (lat / 180) * PI;
  let magic = Math.sin(radLat);
  magic = 1 - GCJ_EE * magic * magic;
  const sqrtMagic = Math.sqrt(magic);
  dLat = (dLat * 180) / (((GCJ_A * (1 - GCJ_EE)) / (magic * sqrtMagic)) * PI);
  dLon = (dLon * 180) / ((GCJ_A / sqrtMagic) * Math.cos(radLat) * PI);
  return [lon + dLon, lat + dLat];
}

/** [lon, lat] of a file (WGS-84) to a Leaflet LatLng on the map, whose CRS is `crs`. */
export function toMapLatLng(lon, lat, crs) {
  const [x, y] = crs === 'gcj02' ? wgs84ToGcj02(lon, lat) : [lon, lat];
  return L.latLng(y, x);
}

const isPosition = (c) => Array.isArray(c) && Number.isFinite(c[0]) && Number.isFinite(c[1]);

/** [minLon, minLat, maxLon, maxLat] of a GeoJSON geometry, or null when it has no position. */
export function geometryBbox(geometry) {
  const bb = [Infinity, Infinity, -Infinity, -Infinity];
  const walk = (c, depth) => {
    if (!Array.isArray(c) || depth > 6) return;
    if (isPosition(c)) {
      bb[0] = Math.min(bb[0], c[0]);
      bb[1] = Math.min(bb[1], c[1]);
      bb[2] = Math.max(bb[2], c[0]);
      bb[3] = Math.max(bb[3], c[1]);
      return;
    }
    for (const x of c) walk(x, depth + 1);
  };
  const visit = (g, depth) => {
    if (!g || typeof g !== 'object' || depth > 4) return;
    if (g.type === 'GeometryCollection' && Array.isArray(g.geometries)) {
      for (const x of g.geometries) visit(x, depth + 1);
    } else walk(g.coordinates, 0);
  };
  visit(geometry, 0);
  return bb[0] <= bb[2] ? bb : null;
}

/** Only polygons are drawn: a point would need Leaflet's marker images, which are not vendored. */
export const isPolygonal = (g) => g?.type === 'Polygon' || g?.type === 'MultiPolygon';

export const unionBbox = (a, b) =>
  !a ? b : !b ? a : [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[2], b[2]), Math.max(a[3], b[3])];

/** Leaflet bounds of [minLon, minLat, maxLon, maxLat] already in map coordinates. */
export const bboxBounds = (bb) => (bb ? L.latLngBounds([bb[1], bb[0]], [bb[3], bb[2]]) : null);

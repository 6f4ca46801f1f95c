/*
 * crs.h: coordinate systems (standards.md section 7). civgrid stores WGS-84 /
 * CGCS2000 longitude and latitude (equal at map precision). GCJ-02, the
 * deliberately offset system of 高德 and 腾讯 base maps, is used only at
 * display time: positions are converted on the way out to such a map, and a
 * point picked on one is converted back (iteratively) before it is stored.
 */
#ifndef CG_GRID_CRS_H
#define CG_GRID_CRS_H

#include "base/cg.h"

/* True outside mainland China's rough box, where GCJ-02 equals WGS-84 by definition. */
bool cg_crs_outside_china(double lon, double lat);

/* WGS-84 -> GCJ-02: the published closed form (exact, one way). */
void cg_crs_wgs84_to_gcj02(double lon, double lat, double *out_lon, double *out_lat);

/* GCJ-02 -> WGS-84 by fixed-point iteration, until the forward transform matches within 1e-9
 * degrees (~0.1 mm). */
void cg_crs_gcj02_to_wgs84(double lon, double lat, double *out_lon, double *out_lat);

#endif

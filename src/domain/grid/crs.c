/*
 * crs.c: WGS-84 <-> GCJ-02 (crs.h). The forward transform is the formula
 * published with the "地形图非线性保密处理" and reproduced by every Chinese
 * web-map SDK: a Krasovsky-ellipsoid offset made of sine series in the
 * distance from (105 E, 35 N). There is no closed inverse; because the offset
 * varies slowly (well under 1e-5 per metre), x <- x - (f(x) - target)
 * converges to sub-millimetre in a few steps.
 */
#include "base/cg.h"
#include "domain/grid/crs.h"

#include <math.h>

#define KRASOVSKY_A 6378245.0
#define KRASOVSKY_EE 0.00669342162296594323

bool cg_crs_outside_china(double lon, double lat)
{
    return lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271;
}

static double offset_lat(double x, double y)
{
    double r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt(fabs(x));

    r += (20.0 * sin(6.0 * x * M_PI) + 20.0 * sin(2.0 * x * M_PI)) * 2.0 / 3.0;
    r += (20.0 * sin(y * M_PI) + 40.0 * sin(y / 3.0 * M_PI)) * 2.0 / 3.0;
    r += (160.0 * sin(y / 12.0 * M_PI) + 320.0 * sin(y * M_PI / 30.0)) * 2.0 / 3.0;
    return r;
}

static double offset_lon(double x, double y)
{
    double r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt(fabs(x));

    r += (20.0 * sin(6.0 * x * M_PI) + 20.0 * sin(2.0 * x * M_PI)) * 2.0 / 3.0;
    r += (20.0 * sin(x * M_PI) + 40.0 * sin(x / 3.0 * M_PI)) * 2.0 / 3.0;
    r += (150.0 * sin(x / 12.0 * M_PI) + 300.0 * sin(x / 30.0 * M_PI)) * 2.0 / 3.0;
    return r;
}

void cg_crs_wgs84_to_gcj02(double lon, double lat, double *out_lon, double *out_lat)
{
    double dlat, dlon, rad, magic, sq;

    if (cg_crs_outside_china(lon, lat)) {
        *out_lon = lon;
        *out_lat = lat;
        return;
    }
    dlat = offset_lat(lon - 105.0, lat - 35.0);
    dlon = offset_lon(lon - 105.0, lat - 35.0);
    rad = lat / 180.0 * M_PI;
    magic = sin(rad);
    magic = 1 - KRASOVSKY_EE * magic * magic;
    sq = sqrt(magic);
    dlat = (dlat * 180.0) / ((KRASOVSKY_A * (1 - KRASOVSKY_EE)) / (magic * sq) * M_PI);
    dlon = (dlon * 180.0) / (KRASOVSKY_A / sq * cos(rad) * M_PI);
    *out_lon = lon + dlon;
    *out_lat = lat + dlat;
}

void cg_crs_gcj02_to_wgs84(double lon, double lat, double *out_lon, double *out_lat)
{
    double x = lon, y = lat;

    for (int i = 0; i < 30; i++) {
        double gx, gy;

        cg_crs_wgs84_to_gcj02(x, y, &gx, &gy);
        gx -= lon;
        gy -= lat;
        if (fabs(gx) < 1e-9 && fabs(gy) < 1e-9) {
            break;
        }
        x -= gx;
        y -= gy;
    }
    *out_lon = x;
    *out_lat = y;
}

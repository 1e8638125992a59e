// gpsd's client library (Debian's libgps-dev): gps_open, gps_stream, gps_waiting, gps_read.
#ifndef CGPS_SHIM_H
#define CGPS_SHIM_H
#include <gps.h>
#endif

// gpsd through libgps: a session, its JSON reports (TPV, TOFF, PPS) decoded into plain C structs.
#define _GNU_SOURCE
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gps.h>

struct crf_gps_session {
    struct gps_data_t data;
    pthread_mutex_t lock;   // guards `interrupted` against the socket being closed
    int interrupted;
    char line[8192];          // gpsd lines are at most GPS_JSON_RESPONSE_MAX (4096)
};

int crf_gps_api_version(void) { return GPSD_API_MAJOR_VERSION * 1000 + GPSD_API_MINOR_VERSION; }

const char *crf_gps_errstr(int error) {
    if (error < 0) return gps_errstr(error);
    if (error == 0) return "connection closed by gpsd";
    return strerror(error);
}

crf_gps_session *crf_gps_open(const char *host, const char *port, int watch_pps, int *error) {
    crf_gps_session *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        if (error) *error = ENOMEM;
        return NULL;
    }
    errno = 0;
    if (gps_open(host, port, &s->data) != 0) {
        // libgps leaves a negative netlib code (NL_NOCONNECT, ...) in errno.
        int e = errno;
        if (error) *error = (e == 0) ? -6 : e;
        free(s);
        return NULL;
    }
    unsigned int flags = WATCH_ENABLE | WATCH_JSON;
    if (watch_pps) flags |= WATCH_PPS;
    errno = 0;
    if (gps_stream(&s->data, flags, NULL) != 0) {
        int e = errno;
        if (error) *error = (e == 0) ? EPIPE : e;
        (void)gps_close(&s->data);
        free(s);
        return NULL;
    }
    pthread_mutex_init(&s->lock, NULL);
    if (error) *error = 0;
    return s;
}

int crf_gps_wait(crf_gps_session *s, int timeout_us) {
    pthread_mutex_lock(&s->lock);
    int interrupted = s->interrupted;
    pthread_mutex_unlock(&s->lock);
    if (interrupted) return -1;
    return gps_waiting(&s->data, timeout_us) ? 1 : 0;
}

void crf_gps_interrupt(crf_gps_session *s) {
    pthread_mutex_lock(&s->lock);
    if (!s->interrupted) {
        s->interrupted = 1;
        // The descriptor stays open (closed only by crf_gps_close on the owner's thread), so this cannot
        // hit a reused descriptor; shutdown wakes a blocked select/recv with EOF.
        (void)shutdown(s->data.gps_fd, SHUT_RDWR);
    }
    pthread_mutex_unlock(&s->lock);
}

void crf_gps_close(crf_gps_session *s) {
    if (s == NULL) return;
    pthread_mutex_lock(&s->lock);
    s->interrupted = 1;
    pthread_mutex_unlock(&s->lock);
    (void)gps_close(&s->data);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

// The value of "class" in a JSON line, or "".
static void line_class(const char *line, char *out, size_t size) {
    out[0] = '\0';
    const char *key = strstr(line, "\"class\"");
    if (key == NULL) return;
    const char *p = key + 7;
    while (*p == ' ' || *p == '\t' || *p == ':') p++;
    if (*p != '"') return;
    p++;
    size_t n = 0;
    while (p[n] != '\0' && p[n] != '"' && n + 1 < size) n++;
    if (p[n] != '"') return;
    memcpy(out, p, n);
    out[n] = '\0';
}

int crf_gps_read(crf_gps_session *s, crf_gps_report *r, int *error) {
    memset(r, 0, sizeof(*r));
    r->ept = NAN;
    struct gps_data_t *d = &s->data;
    // libgps accumulates: clear what we test so every report says only what this line carried.
    d->set = 0;
    d->fix.time.tv_sec = 0;
    d->fix.time.tv_nsec = 0;
    d->leap_seconds = 0;
    memset(&d->toff, 0, sizeof(d->toff));
    memset(&d->pps, 0, sizeof(d->pps));
    s->line[0] = '\0';
    errno = 0;
    int status = gps_read(d, s->line, (int)sizeof(s->line));
    r->received = crf_realtime_now();
    if (status < 0) {
        if (error) *error = errno;
        return -1;
    }
    if (error) *error = 0;
    if (status == 0) return 0;

    char cls[sizeof(r->line_class)];
    line_class(s->line, cls, sizeof(cls));
    crf_copy_string(r->line_class, sizeof(r->line_class), cls);
    gps_mask_t set = d->set;
    int known = 0;

    // libgps keeps whatever it parsed before a JSON error: a line that is not one whole object is
    // malformed (a truncated line, or not JSON at all), whatever flags it left.
    size_t length = strlen(s->line);
    while (length > 0 && (s->line[length - 1] == '\r' || s->line[length - 1] == ' ' || s->line[length - 1] == '\n')) length--;
    if (length < 2 || s->line[0] != '{' || s->line[length - 1] != '}') {
        r->kinds |= CRF_GPS_UNKNOWN;
        return status;
    }

    if (strcmp(cls, "TPV") == 0 && (set & MODE_SET)) {
        known = 1;
        r->kinds |= CRF_GPS_TPV;
        r->mode = d->fix.mode;
        r->status = d->fix.status;
        r->ept = d->fix.ept;
        if ((set & TIME_SET) && d->fix.time.tv_sec > 0) {
            r->kinds |= CRF_GPS_TIME;
            r->time = crf_from_timespec(d->fix.time);
        } else if (set & TIME_SET) {
            // An unparseable "time" (libgps turns it into 1900-01-01): a malformed report, not a time.
            r->kinds = CRF_GPS_UNKNOWN;
            return status;
        }
        if (d->leap_seconds != 0) {
            r->kinds |= CRF_GPS_LEAP;
            r->leap_seconds = d->leap_seconds;
        }
    } else if (strcmp(cls, "SKY") == 0 && (set & SATELLITE_SET)) {
        known = 1;
        r->kinds |= CRF_GPS_SKY;
        r->satellites_used = d->satellites_used;
        r->satellites_visible = d->satellites_visible;
    } else if (strcmp(cls, "SKY") == 0) {
        known = 1;   // a SKY with DOPs only
    } else if (strcmp(cls, "TOFF") == 0 && (set & TOFF_SET)) {
        known = 1;
        r->kinds |= CRF_GPS_TOFF;
        // libgps 3.22's json_toff_read stores TOFF into gps_data_t.pps (TOFF_SET is set, .toff stays
        // zero); later versions use .toff. Both were zeroed before the read: take the one that was filled.
        const struct timedelta_t *toff =
            (d->toff.real.tv_sec != 0 || d->toff.clock.tv_sec != 0) ? &d->toff : &d->pps;
        r->toff_real = crf_from_timespec(toff->real);
        r->toff_clock = crf_from_timespec(toff->clock);
    } else if (strcmp(cls, "PPS") == 0 && (set & PPS_SET)) {
        known = 1;
        r->kinds |= CRF_GPS_PPS;
        r->pps_real = crf_from_timespec(d->pps.real);
        r->pps_clock = crf_from_timespec(d->pps.clock);
    } else if (strcmp(cls, "VERSION") == 0 && (set & VERSION_SET)) {
        known = 1;
        r->kinds |= CRF_GPS_VERSION;
        crf_copy_string(r->release, sizeof(r->release), d->version.release);
        r->proto_major = d->version.proto_major;
        r->proto_minor = d->version.proto_minor;
    } else if (strcmp(cls, "DEVICES") == 0 && (set & DEVICELIST_SET)) {
        known = 1;
        r->kinds |= CRF_GPS_DEVICES;
        r->device_count = d->devices.ndevices;
        if (d->devices.ndevices > 0) {
            crf_copy_string(r->device_path, sizeof(r->device_path), d->devices.list[0].path);
            crf_copy_string(r->driver, sizeof(r->driver), d->devices.list[0].driver);
        }
    } else if (strcmp(cls, "DEVICE") == 0 && (set & DEVICE_SET)) {
        known = 1;
        r->kinds |= CRF_GPS_DEVICES;
        r->device_count = 1;
        crf_copy_string(r->device_path, sizeof(r->device_path), d->dev.path);
        crf_copy_string(r->driver, sizeof(r->driver), d->dev.driver);
    } else if (strcmp(cls, "ERROR") == 0 && (set & ERROR_SET)) {
        known = 1;
        r->kinds |= CRF_GPS_ERROR;
        crf_copy_string(r->error, sizeof(r->error), d->error);
    } else if (cls[0] != '\0' && strcmp(cls, "TPV") != 0 && strcmp(cls, "TOFF") != 0 &&
               strcmp(cls, "PPS") != 0 && strcmp(cls, "VERSION") != 0 && strcmp(cls, "DEVICES") != 0 &&
               strcmp(cls, "DEVICE") != 0 && strcmp(cls, "ERROR") != 0 && s->line[0] == '{' &&
               (set & ~(gps_mask_t)(PACKET_SET | ONLINE_SET)) != 0) {
        known = 1;   // another class libgps decoded (WATCH, GST, ATT, ...): not ours, not an error
    }
    if ((r->kinds & (CRF_GPS_TPV | CRF_GPS_TOFF | CRF_GPS_PPS)) && d->dev.path[0] != '\0') {
        r->kinds |= CRF_GPS_DEVICE;
        crf_copy_string(r->device_path, sizeof(r->device_path), d->dev.path);
    }
    if (!known) r->kinds |= CRF_GPS_UNKNOWN;
    return status;
}

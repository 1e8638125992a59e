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
    char line[CRF_GPS_LINE_MAX + 1];     // the line being decoded (gpsd's are at most GPS_JSON_RESPONSE_MAX, 4096)
    char buffer[CRF_GPS_LINE_MAX + 1];   // received bytes not yet taken as lines
    size_t buffered;
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
    if (memchr(s->buffer, '\n', s->buffered) != NULL) return 1;
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

// libgps accumulates: clear what we test so every report says only what this line carried.
static void clear_line_state(struct gps_data_t *d) {
    d->set = 0;
    d->fix.time.tv_sec = 0;
    d->fix.time.tv_nsec = 0;
    d->leap_seconds = 0;
    memset(&d->toff, 0, sizeof(d->toff));
    memset(&d->pps, 0, sizeof(d->pps));
}

static void decode_line(const struct gps_data_t *d, const char *line, crf_gps_report *r);
static int json_object_line(const char *line, size_t length);
static int devices_first(const char *line, size_t length, const char **first, size_t *first_length, int *count);

// libgps 3.22 also loops forever on well-formed reports with a "devices" array whose device objects do not
// decode (a value of the wrong type, a later object of another class), whatever the report's class (found
// by fuzz-gpsd-json). The node uses the first device of a DEVICES report only: that object alone goes to
// gps_unpack, as the DEVICE report it is, when it is flat and starts with "class":"DEVICE" (so libgps,
// which finds the class with strstr, reads it the same way); the others are counted. Any line with a
// "devices" member or that libgps would take for DEVICES comes here; one of another class is malformed.
static void unpack_devices(struct gps_data_t *d, char *line, size_t length, crf_gps_report *r) {
    char cls[sizeof(r->line_class)];
    line_class(line, cls, sizeof(cls));
    crf_copy_string(r->line_class, sizeof(r->line_class), cls);
    if (strcmp(cls, "DEVICES") != 0) {
        r->kinds = CRF_GPS_UNKNOWN;
        return;
    }
    const char *first = NULL;
    size_t first_length = 0;
    int count = 0;
    if (!devices_first(line, length, &first, &first_length, &count)) {
        r->kinds = CRF_GPS_UNKNOWN;
        return;
    }
    r->kinds = CRF_GPS_DEVICES;
    if (count == 0) return;
    memmove(line, first, first_length);
    line[first_length] = '\0';
    if (strncmp(line, "{\"class\":\"DEVICE\",", 18) != 0 || strpbrk(line + 1, "{[") != NULL ||
        strstr(line, "\"devices\"") != NULL) {
        r->kinds = CRF_GPS_UNKNOWN;
        return;
    }
    (void)gps_unpack(line, d);
    if ((d->set & DEVICE_SET) == 0) {
        r->kinds = CRF_GPS_UNKNOWN;
        return;
    }
    r->device_count = count;
    crf_copy_string(r->device_path, sizeof(r->device_path), d->dev.path);
    crf_copy_string(r->driver, sizeof(r->driver), d->dev.driver);
}

// One whole line into `d` and `r`: libgps's gps_unpack (what gps_read does with each line it receives),
// only for a line that is one well-formed JSON object. libgps 3.22 loops forever on some malformed
// reports (a DEVICES whose DEVICE object breaks after its "class", found by fuzz-gpsd-json): a peer
// that sends one would stop the reference clock and spin a core. gpsd itself only writes valid JSON.
static void unpack_line(struct gps_data_t *d, char *line, size_t length, crf_gps_report *r) {
    clear_line_state(d);
    if (!json_object_line(line, length)) {
        char cls[sizeof(r->line_class)];
        line_class(line, cls, sizeof(cls));
        crf_copy_string(r->line_class, sizeof(r->line_class), cls);
        r->kinds = CRF_GPS_UNKNOWN;
        return;
    }
    if (strstr(line, "\"class\":\"DEVICES\"") != NULL || strstr(line, "\"devices\"") != NULL) {
        unpack_devices(d, line, length, r);
        return;
    }
    // libgps takes the class from the first "class": it finds, anywhere, and after an object it cannot
    // decode goes on from a "class": further on; gpsd writes one class, first. A line that does not start
    // with it, has another one (nested), or a DEVICE report that is not flat can send libgps 3.22 into the
    // same loop.
    if (strncmp(line, "{\"class\":\"", 10) != 0 || strstr(line + 2, "\"class\":") != NULL ||
        (strncmp(line, "{\"class\":\"DEVICE\"", 17) == 0 && strpbrk(line + 1, "{[") != NULL)) {
        char cls[sizeof(r->line_class)];
        line_class(line, cls, sizeof(cls));
        crf_copy_string(r->line_class, sizeof(r->line_class), cls);
        r->kinds = CRF_GPS_UNKNOWN;
        return;
    }
    (void)gps_unpack(line, d);
    d->set |= PACKET_SET;
    decode_line(d, line, r);
}

// gps_read's job done here (libgps_sock.c: receive, cut lines, unpack each) so that each line is checked
// before libgps unpacks it (unpack_line).
int crf_gps_read(crf_gps_session *s, crf_gps_report *r, int *error) {
    memset(r, 0, sizeof(*r));
    r->ept = NAN;
    if (error) *error = 0;
    char *eol = memchr(s->buffer, '\n', s->buffered);
    if (eol == NULL) {
        if (s->buffered == CRF_GPS_LINE_MAX) {
            // A line longer than libgps takes: dropped whole, as one malformed line.
            s->buffered = 0;
            r->received = crf_realtime_now();
            r->kinds = CRF_GPS_UNKNOWN;
            return 1;
        }
        ssize_t n = recv(s->data.gps_fd, s->buffer + s->buffered, CRF_GPS_LINE_MAX - s->buffered, 0);
        r->received = crf_realtime_now();
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) return 0;
            if (error) *error = errno;
            return -1;
        }
        if (n == 0) return -1;   // closed by gpsd (or crf_gps_interrupt's shutdown)
        s->buffered += (size_t)n;
        eol = memchr(s->buffer, '\n', s->buffered);
        if (eol == NULL) return 0;
    } else {
        r->received = crf_realtime_now();
    }
    size_t length = (size_t)(eol - s->buffer);
    memcpy(s->line, s->buffer, length);
    s->line[length] = '\0';
    s->buffered -= length + 1;
    memmove(s->buffer, eol + 1, s->buffered);
    unpack_line(&s->data, s->line, length, r);
    return 1;
}

struct crf_gps_decoder {
    struct gps_data_t data;
    char line[CRF_GPS_LINE_MAX + 1];
};

crf_gps_decoder *crf_gps_decoder_new(void) { return calloc(1, sizeof(crf_gps_decoder)); }

void crf_gps_decoder_free(crf_gps_decoder *decoder) { free(decoder); }

int crf_gps_decoder_unpack(crf_gps_decoder *decoder, const char *bytes, size_t length, crf_time received,
                           crf_gps_report *r) {
    memset(r, 0, sizeof(*r));
    r->ept = NAN;
    r->received = received;
    if (length > CRF_GPS_LINE_MAX) return -1;
    memcpy(decoder->line, bytes, length);
    decoder->line[length] = '\0';
    unpack_line(&decoder->data, decoder->line, length, r);
    return 1;
}

// What one line libgps has unpacked into `d` says, into `r` (kinds and fields; `received` is the caller's).
static void decode_line(const struct gps_data_t *d, const char *line, crf_gps_report *r) {
    char cls[sizeof(r->line_class)];
    line_class(line, cls, sizeof(cls));
    crf_copy_string(r->line_class, sizeof(r->line_class), cls);
    gps_mask_t set = d->set;
    int known = 0;

    // libgps keeps whatever it parsed before a JSON error: a line that is not one whole object is
    // malformed (a truncated line, or not JSON at all), whatever flags it left.
    size_t length = strlen(line);
    while (length > 0 && (line[length - 1] == '\r' || line[length - 1] == ' ' || line[length - 1] == '\n')) length--;
    if (length < 2 || line[0] != '{' || line[length - 1] != '}') {
        r->kinds |= CRF_GPS_UNKNOWN;
        return;
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
            return;
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
               strcmp(cls, "DEVICE") != 0 && strcmp(cls, "ERROR") != 0 && line[0] == '{' &&
               (set & ~(gps_mask_t)(PACKET_SET | ONLINE_SET)) != 0) {
        known = 1;   // another class libgps decoded (WATCH, GST, ATT, ...): not ours, not an error
    }
    if ((r->kinds & (CRF_GPS_TPV | CRF_GPS_TOFF | CRF_GPS_PPS)) && d->dev.path[0] != '\0') {
        r->kinds |= CRF_GPS_DEVICE;
        crf_copy_string(r->device_path, sizeof(r->device_path), d->dev.path);
    }
    if (!known) r->kinds |= CRF_GPS_UNKNOWN;
    return;
}

// MARK: - JSON well-formedness (RFC 8259), for unpack_line

typedef struct {
    const char *p;
    const char *end;
    int depth;
} json_cursor;

enum { JSON_MAX_DEPTH = 32 };   // gpsd nests 3 deep (DEVICES > devices > DEVICE; SKY > satellites > sat)

static void json_space(json_cursor *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n')) c->p++;
}

static int json_digits(json_cursor *c) {
    const char *start = c->p;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') c->p++;
    return c->p > start;
}

static int json_string(json_cursor *c) {
    if (c->p >= c->end || *c->p != '"') return 0;
    c->p++;
    while (c->p < c->end) {
        unsigned char ch = (unsigned char)*c->p++;
        if (ch == '"') return 1;
        if (ch < 0x20) return 0;
        if (ch != '\\') continue;
        if (c->p >= c->end) return 0;
        char escape = *c->p++;
        if (escape == 'u') {
            for (int i = 0; i < 4; i++, c->p++) {
                if (c->p >= c->end) return 0;
                char h = *c->p;
                if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') || (h >= 'A' && h <= 'F'))) return 0;
            }
        } else if (escape == '\0' || strchr("\"\\/bfnrt", escape) == NULL) {
            return 0;
        }
    }
    return 0;
}

static int json_number(json_cursor *c) {
    if (c->p < c->end && *c->p == '-') c->p++;
    if (c->p < c->end && *c->p == '0') {
        c->p++;
    } else if (!json_digits(c)) {
        return 0;
    }
    if (c->p < c->end && *c->p == '.') {
        c->p++;
        if (!json_digits(c)) return 0;
    }
    if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
        c->p++;
        if (c->p < c->end && (*c->p == '+' || *c->p == '-')) c->p++;
        if (!json_digits(c)) return 0;
    }
    return 1;
}

static int json_literal(json_cursor *c, const char *word) {
    size_t n = strlen(word);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0) return 0;
    c->p += n;
    return 1;
}

static int json_value(json_cursor *c) {
    json_space(c);
    if (c->p >= c->end) return 0;
    char open = *c->p;
    if (open == '{' || open == '[') {
        char close = open == '{' ? '}' : ']';
        if (++c->depth > JSON_MAX_DEPTH) return 0;
        c->p++;
        json_space(c);
        if (c->p < c->end && *c->p == close) {
            c->p++;
            c->depth--;
            return 1;
        }
        for (;;) {
            if (open == '{') {
                json_space(c);
                if (!json_string(c)) return 0;
                json_space(c);
                if (c->p >= c->end || *c->p != ':') return 0;
                c->p++;
            }
            if (!json_value(c)) return 0;
            json_space(c);
            if (c->p < c->end && *c->p == ',') {
                c->p++;
                continue;
            }
            if (c->p < c->end && *c->p == close) {
                c->p++;
                c->depth--;
                return 1;
            }
            return 0;
        }
    }
    switch (open) {
    case '"': return json_string(c);
    case 't': return json_literal(c, "true");
    case 'f': return json_literal(c, "false");
    case 'n': return json_literal(c, "null");
    default: return json_number(c);
    }
}

// Whether `line` (`length` bytes) is one JSON object, white space around it allowed.
static int json_object_line(const char *line, size_t length) {
    json_cursor c = {line, line + length, 0};
    json_space(&c);
    if (c.p >= c.end || *c.p != '{') return 0;
    if (!json_value(&c)) return 0;
    json_space(&c);
    return c.p == c.end;
}

// In a well-formed JSON object, the value of its "devices" member when it is an array: the first element
// (`first`, `first_length`) and how many there are. 0 when there is no such member.
static int devices_first(const char *line, size_t length, const char **first, size_t *first_length, int *count) {
    json_cursor c = {line, line + length, 1};
    json_space(&c);
    if (c.p >= c.end || *c.p != '{') return 0;
    c.p++;
    json_space(&c);
    if (c.p < c.end && *c.p == '}') return 0;
    for (;;) {
        json_space(&c);
        const char *key = c.p;
        if (!json_string(&c)) return 0;
        int is_devices = c.p - key == 9 && memcmp(key, "\"devices\"", 9) == 0;
        json_space(&c);
        if (c.p >= c.end || *c.p != ':') return 0;
        c.p++;
        json_space(&c);
        if (is_devices && c.p < c.end && *c.p == '[') {
            c.p++;
            *count = 0;
            json_space(&c);
            if (c.p < c.end && *c.p == ']') return 1;
            for (;;) {
                json_space(&c);
                const char *start = c.p;
                if (!json_value(&c)) return 0;
                if (*count == 0) {
                    *first = start;
                    *first_length = (size_t)(c.p - start);
                }
                (*count)++;
                json_space(&c);
                if (c.p < c.end && *c.p == ',') {
                    c.p++;
                    continue;
                }
                return c.p < c.end && *c.p == ']';
            }
        }
        if (!json_value(&c)) return 0;
        json_space(&c);
        if (c.p < c.end && *c.p == ',') {
            c.p++;
            continue;
        }
        return 0;
    }
}

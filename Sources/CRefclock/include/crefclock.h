// The C edges of the node's reference clocks, for what Swift cannot touch directly:
//   - gpsd through libgps: gps_data_t has anonymous unions and a private buffer, so a session is opaque
//     and every report is copied into a small flat struct (crf_gps_report);
//   - the NTP shared-memory segment (struct shmTime, 96 bytes; gpsd's ntpshm.h is not installed) read with
//     the mode-1 count protocol as chrony's refclock_shm.c does (shm.c; the tests' writer is in
//     Tests/CRefclockTestSupport);
//   - RFC 2783 PPS through the <linux/pps.h> ioctls (PPS_GETCAP/GETPARAMS/SETPARAMS/FETCH) (pps.c).
// Every symbol is prefixed `crf_`. Functions return 0 or a positive value on success and -errno on failure
// unless documented otherwise; none of them abort.
#ifndef CREFCLOCK_H
#define CREFCLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/// A time as seconds and nanoseconds since 1970 (POSIX), the flat form of a timespec.
typedef struct {
    int64_t sec;
    int32_t nsec;
} crf_time;

// MARK: - gpsd (libgps)

/// What a report carries: bits of crf_gps_report.kinds.
enum {
    CRF_GPS_TPV = 1u << 0,       // a TPV: mode (and time when CRF_GPS_TIME is set)
    CRF_GPS_TIME = 1u << 1,      // time_* is valid (libgps TIME_SET)
    CRF_GPS_SKY = 1u << 2,       // satellites_used/visible are valid
    CRF_GPS_TOFF = 1u << 3,      // toff_real/toff_clock are valid
    CRF_GPS_PPS = 1u << 4,       // pps_real/pps_clock are valid
    CRF_GPS_VERSION = 1u << 5,   // release/proto_* are valid
    CRF_GPS_DEVICES = 1u << 6,   // device_path/driver of the first device, device_count
    CRF_GPS_ERROR = 1u << 7,     // gpsd sent an ERROR report: message in error
    CRF_GPS_UNKNOWN = 1u << 8,   // a malformed line: not one whole JSON object, an unknown class, a TPV
                                 // whose time libgps could not parse (it yields 1900-01-01)
    CRF_GPS_LEAP = 1u << 9,      // leap_seconds is valid (non-zero GPS-UTC offset from the TPV)
    CRF_GPS_DEVICE = 1u << 10,   // device_path holds the device the report came from
};

/// One decoded gpsd line, flat. Strings are NUL-terminated (possibly truncated).
typedef struct {
    uint32_t kinds;
    crf_time received;          // CLOCK_REALTIME read as soon as the line was received
    crf_time time;              // TPV fix.time (GPS time as UTC)
    int32_t mode;               // 0 not seen, 1 no fix, 2 2D, 3 3D
    int32_t status;             // fix.status (STATUS_*)
    int32_t leap_seconds;       // GPS-UTC offset, when CRF_GPS_LEAP
    double ept;                 // expected time uncertainty, seconds; NaN when unknown
    int32_t satellites_used;
    int32_t satellites_visible;
    crf_time toff_real;
    crf_time toff_clock;
    crf_time pps_real;
    crf_time pps_clock;
    int32_t proto_major;
    int32_t proto_minor;
    int32_t device_count;
    char release[64];
    char device_path[128];
    char driver[64];
    char error[160];
    char line_class[24];        // the JSON "class" of the line, when found ("" otherwise)
} crf_gps_report;

/// An open connection to gpsd (gps_data_t and a lock for crf_gps_interrupt). Opaque.
typedef struct crf_gps_session crf_gps_session;

/// Connects to gpsd at host:port (TCP; libgps 3.22 has no Unix-socket client transport) and sends
/// ?WATCH (gps_stream with WATCH_ENABLE|WATCH_JSON, plus WATCH_PPS when `watch_pps`, needed for TOFF and PPS
/// reports). Returns NULL on failure with the reason in *error: a negative libgps code (NL_NOCONNECT, ...)
/// or a positive errno; crf_gps_errstr turns either into a message.
crf_gps_session *crf_gps_open(const char *host, const char *port, int watch_pps, int *error);

/// Waits up to timeout_us microseconds for input: 1 when a read will make progress, 0 on timeout,
/// -1 when the session was interrupted.
int crf_gps_wait(crf_gps_session *session, int timeout_us);

/// Reads and decodes one line. Blocks in recv when only part of a line is buffered (crf_gps_interrupt
/// unblocks it). Returns > 0 with *report filled, 0 when no complete line was available yet, and -1 when
/// the connection is closed or failed (errno in *error, 0 for an orderly close by gpsd).
/// TOFF comes from gps_data_t.pps when libgps put it there (3.22's json_toff_read does), else from .toff.
/// Lines are cut here, not by gps_read, and only a line that is one well-formed JSON object reaches libgps's
/// gps_unpack (3.22 loops forever on some malformed reports); any other is reported as CRF_GPS_UNKNOWN, as
/// is a line longer than CRF_GPS_LINE_MAX (dropped).
int crf_gps_read(crf_gps_session *session, crf_gps_report *report, int *error);

/// From any thread: makes a blocked crf_gps_wait/crf_gps_read of this session return promptly (shuts the
/// socket down). The session must still be closed by its owner.
void crf_gps_interrupt(crf_gps_session *session);

/// Closes the connection and frees the session.
void crf_gps_close(crf_gps_session *session);

/// The longest line crf_gps_decoder_unpack takes: libgps's own line buffer (GPS_JSON_RESPONSE_MAX * 2
/// bytes with its NUL), so a longer line never reaches gps_unpack from gpsd either.
#define CRF_GPS_LINE_MAX 8191

/// libgps's decoding without a connection: one gps_data_t that lines are unpacked into (gps_unpack, as
/// gps_read does with each line it receives) and decoded exactly as crf_gps_read decodes them. For fuzzing
/// and tests of the path the node's gpsd reports take. Opaque; not shared between threads.
typedef struct crf_gps_decoder crf_gps_decoder;

/// A decoder with a zeroed gps_data_t (as gps_open leaves it before the first line), or NULL without memory.
crf_gps_decoder *crf_gps_decoder_new(void);

/// Unpacks one line (`length` bytes, without its line break; an embedded NUL ends it as it would for
/// libgps) and decodes it into *report with `received` as its receive time. State carries over from
/// earlier lines as in a session. Returns 1, or -1 (report marked nothing) for a line longer than
/// CRF_GPS_LINE_MAX.
int crf_gps_decoder_unpack(crf_gps_decoder *decoder, const char *bytes, size_t length, crf_time received,
                           crf_gps_report *report);

/// Frees a decoder (NULL is ignored).
void crf_gps_decoder_free(crf_gps_decoder *decoder);

/// A message for an error from crf_gps_open/crf_gps_read: negative libgps codes, positive errno values,
/// 0 for an orderly close by gpsd.
const char *crf_gps_errstr(int error);

/// The libgps API version compiled against (GPSD_API_MAJOR_VERSION * 1000 + MINOR).
int crf_gps_api_version(void);

// MARK: - NTP shared memory (struct shmTime)

/// The NTP SHM key for a unit: 0x4E545030 ("NTP0") + unit.
int32_t crf_shm_key(int unit);

/// The flat copy of one accepted segment sample.
typedef struct {
    crf_time clock;             // reference (GPS) time: clockTimeStamp*
    crf_time receive;           // system time at the reference's epoch: receiveTimeStamp*
    int32_t leap;               // LEAP_* (0 none, 1 insert, 2 delete, 3 unsynchronised)
    int32_t precision;          // log2 seconds
    int32_t mode;
    int32_t count;
} crf_shm_sample;

/// The ntpd/gpsd/chrony segment layout (gpsd's ntpshm.h, which Debian does not install), 96 bytes on LP64.
struct crf_shm_time {
    int mode;                   // 0: plain; 1: count protocol
    volatile int count;
    time_t clockTimeStampSec;   // reference time
    int clockTimeStampUSec;
    time_t receiveTimeStampSec; // system time
    int receiveTimeStampUSec;
    int leap;
    int precision;
    int nsamples;
    volatile int valid;
    unsigned clockTimeStampNSec;
    unsigned receiveTimeStampNSec;
    int dummy[8];
};

#if defined(__LP64__)
_Static_assert(sizeof(struct crf_shm_time) == 96, "struct shmTime must be 96 bytes on LP64");
#endif

/// The System V IPC key of `unit` (0x4E545030 + unit, "NTP0").
int32_t crf_shm_key(int unit);

/// Attaches the existing segment of `unit` read-write (no creation). Returns the address or NULL with
/// -errno in *error (-ENOENT: no segment; -EACCES: not permitted; -EINVAL: wrong size).
void *crf_shm_attach(int unit, int *error);

/// Detaches a segment attached by crf_shm_attach (or the tests' crt_shm_create).
void crf_shm_detach(void *segment);

/// Results of crf_shm_read.
enum {
    CRF_SHM_OK = 0,
    CRF_SHM_NOT_VALID = 1,      // valid == 0: no new sample since the last read
    CRF_SHM_TORN = 2,           // mode 1 and count changed during the copy: the writer was mid-update
    CRF_SHM_BAD_MODE = 3,       // mode is neither 0 nor 1
};

/// Reads one sample with the count protocol (read count, copy, re-check count, then clear valid), as
/// chrony's refclock_shm.c. Nanosecond fields are used when they agree with the microsecond fields.
int crf_shm_read(void *segment, crf_shm_sample *sample);

/// crf_shm_read with `hook(segment, context)` called between the copy and the count re-check: for tests
/// that simulate a writer updating the segment mid-read.
int crf_shm_read_hooked(void *segment, crf_shm_sample *sample, void (*hook)(void *segment, void *context),
                        void *context);

// MARK: - PPS (RFC 2783 over <linux/pps.h>)

enum {
    CRF_PPS_CAPTUREASSERT = 0x01,
    CRF_PPS_CAPTURECLEAR = 0x02,
    CRF_PPS_CANWAIT = 0x100,
    CRF_PPS_TSFMT_TSPEC = 0x1000,
};

/// Opens a PPS device read-write. Returns the descriptor or -errno.
int crf_pps_open(const char *path);

/// PPS_GETCAP: the capability mode bits in *caps. Returns 0 or -errno (-ENOTTY: not a PPS device).
int crf_pps_getcap(int fd, int *caps);

/// PPS_GETPARAMS: the current mode bits in *mode. Returns 0 or -errno.
int crf_pps_getmode(int fd, int *mode);

/// PPS_GETPARAMS then PPS_SETPARAMS with assert capture (PPS_CAPTUREASSERT|PPS_TSFMT_TSPEC) added to the
/// current mode, when it is not already set. Returns 0 (also when nothing needed changing) or -errno
/// (-EPERM: the kernel wants CAP_SYS_TIME to change PPS parameters).
int crf_pps_enable_assert(int fd);

/// PPS_FETCH: the last assert event. timeout_ns < 0 waits without limit, 0 returns at once, > 0 waits at
/// most that long for a new event. Returns 0 or -errno (-ETIMEDOUT, -EINTR).
int crf_pps_fetch(int fd, int64_t timeout_ns, crf_time *assert_time, uint32_t *assert_sequence);

/// Closes a descriptor.
void crf_close(int fd);

#ifdef __cplusplus
}
#endif

#endif

/* change_windows.h - change windows in the broker (docs/change_windows.md):
 * the windows in force (loaded from the store at start-up, replaced on
 * every write), their time zones read from the system's zoneinfo, the
 * /v1/change-windows API, and the one question enforcement asks: is this
 * resource under change control, and is a window covering it open now? */
#ifndef TG_CHANGE_WINDOWS_H
#define TG_CHANGE_WINDOWS_H
#include "broker/broker.h"
#include "core/policy/entities.h"
#include "core/scope.h"
#include <stdbool.h>
#include <stdint.h>

#define ZONEINFO_DIR "/usr/share/zoneinfo"

int change_windows_open(broker_t *b, char *err, size_t err_len) __attribute__((warn_unused_result));
void change_windows_close(broker_t *b);

typedef struct {
	bool controlled;                /* some window covers the resource (or an ancestor) */
	bool open;                      /* one of them is open now */
	char name[TG_MAX_ID_LEN + 1];   /* open: that window; else the one that opens next (or the first) */
	int64_t ends_at;                /* open: when it closes */
	int64_t next_open;              /* !open: the earliest next opening, -1 none */
} window_state_t;

/* The change-control state of resource at now, with the entity hierarchy es. */
void change_window_state(broker_t *b, const pol_entities_t *es, const pol_euid_t *resource, int64_t now,
			 window_state_t *out);
/* The state at now of the window called name (controlled: it exists), for
 * the secret rotation engine's windows (docs/secrets.md, Rotation). */
void change_window_named(broker_t *b, const char *name, int64_t now, window_state_t *out);

/* The windows the scope tokens of one token request are under. */
typedef struct {
	char name[TG_MAX_SCOPE_TOKENS][TG_MAX_ID_LEN + 1];
	const char *names[TG_MAX_SCOPE_TOKENS]; /* per token: the open window, NULL when not controlled */
	int64_t ends_at;                          /* the earliest end of the open ones; 0 none */
	bool any;                                 /* some names[i] is set */
} window_admission_t;

typedef enum {
	WINDOWS_OPEN,         /* names: the open windows; closed ones are no refusal (standing access) */
	WINDOWS_REQUIRE_OPEN, /* a token under a grant: a controlled resource needs an open window */
	WINDOWS_COVERING,     /* names: a covering window, open or not (is a grant possible at all?) */
} window_mode_t;

/* For each scope token, the window covering its resource (per mode).
 * With WINDOWS_REQUIRE_OPEN, a controlled resource without an open window
 * refuses the request: returns why (in buf, naming the resource and the
 * next opening); else NULL. */
const char *change_window_admit(broker_t *b, const scope_set_t *scope, int64_t now, window_mode_t mode,
				window_admission_t *out, char *buf, size_t len);

#endif

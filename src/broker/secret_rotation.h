/* secret_rotation.h - the rotation engine (docs/secrets.md, "Rotation"):
 * one thread that, while this broker holds the rotation lease (a row taken
 * by compare-and-set, so of several brokers on one database exactly one
 * rotates), walks each secret whose rotation is due, requested or in
 * progress through the steps of core/rotation.h with its driver
 * (secret_driver.h), persisting the state and an audit record after every
 * step. When it takes the lease (at start, or from a broker that died) it
 * first reconciles every rotation in progress with what the target
 * accepts. The API: PUT/GET /v1/secrets/{name}/rotation (the target and
 * the state) and POST /v1/secrets/{name}/rotate. */
#ifndef TG_SECRET_ROTATION_H
#define TG_SECRET_ROTATION_H
#include "broker/broker.h"

/* Starts the engine's thread: 0, or -1. */
int rotation_engine_start(broker_t *b);
/* Stops it (a step in flight finishes first) and gives the lease up. Safe
 * to call when it never started. */
void rotation_engine_stop(void);
/* Runs a pass now (a rotation was requested). */
void rotation_engine_wake(void);

#endif

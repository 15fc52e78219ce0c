/* alerts.h - telling people at once: an alert (a break-glass grant opened,
 * and the monitor's findings to come) is an audit record written by the
 * caller and, when alert_webhook is set, a JSON POST to that URL. The POST
 * runs on its own thread with a short timeout, so a slow or dead receiver
 * never holds a request; a failed delivery is logged. */
#ifndef TG_ALERTS_H
#define TG_ALERTS_H
#include "broker/broker.h"
#include <jansson.h>

/* Sends alert (taken) to the webhook, if one is configured. */
void alert_send(broker_t *b, json_t *alert);

#endif

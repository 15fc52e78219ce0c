/* ocsf.h - an audit record as an OCSF 1.1 event (Open Cybersecurity Schema
 * Framework), for SIEMs that ingest OCSF: Authentication (3002) for token
 * and authentication events, Account Change (3001) for identity and key
 * events, API Activity (6003) otherwise. The original record rides along
 * in unmapped.tollgate_record, so an OCSF export still verifies. Pure. */
#ifndef TG_OCSF_H
#define TG_OCSF_H
#include <jansson.h>

json_t *ocsf_from_record(const json_t *record);

#endif

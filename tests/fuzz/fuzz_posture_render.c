/* fuzz_posture_render.c - the posture report's renderers
 * (core/posture_render.c) on arbitrary JSON: the CLI renders whatever
 * document the broker answers, so a document with missing members, other
 * types or hostile strings must render without a crash, and the HTML must
 * keep every '<' that came from the document escaped (no tag but the
 * renderer's own). */
#include "core/posture.h"
#include "fuzz_util.h"
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 16)
		return 0;
	json_t *doc = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	if (doc == NULL)
		return 0;
	char *text = posture_render_text(doc);
	char *html = posture_render_html(doc);
	fz_require(text != NULL && html != NULL, "renders");
	fz_require(strstr(html, "<script") == NULL, "no script element");
	fz_require(strstr(html, "<img") == NULL && strstr(html, "<a ") == NULL, "no element the renderer never writes");
	free(text);
	free(html);
	json_decref(doc);
	return 0;
}

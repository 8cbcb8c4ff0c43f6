/*
 * web_assets - the admin pages' own files (src/web/assets/: HTML, CSS,
 * JavaScript), compiled into the program by scripts/embed-assets.py into
 * BUILD/gen/web_assets.c, so the binary needs nothing installed beside
 * it but Debian's Chart.js (admin_chartjs).
 */
#ifndef PETREL_WEB_WEB_ASSETS_H
#define PETREL_WEB_WEB_ASSETS_H

#include <stddef.h>

struct web_asset {
	const char *name; /* file name: "login.html", "style.css" */
	const unsigned char *data;
	size_t len;
};

extern const struct web_asset web_assets[];
extern const size_t web_n_assets;

#endif

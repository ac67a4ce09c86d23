/**
 * @file upload.c  POST /v1/pushes as multipart/form-data: a "push" part
 *                 (the JSON fields) and "file" parts, each streamed to the
 *                 spool directory as it arrives (libmicrohttpd's post
 *                 processor), hashed on the way, never held in memory
 *
 * Bounds: --max-file-size per file, PUSH_FILES_MAX files, 64 KiB of JSON.
 * Files are fsync'd before the push is accepted; one not accepted (bad
 * request, error, dropped connection) is removed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include <microhttpd.h>
#include <openssl/evp.h>
#include "../re_nojson.h"
#include <sippush/log.h>
#include "sender/sender.h"
#include "api/pushjson.h"
#include "upload.h"

#define MOD "upload"

enum { JSON_MAX = 65536 };

struct upfile {
	char path[512];
	char name[256];
	char ctype[128];
	int fd;
	uint64_t size;
	EVP_MD_CTX *sha;
	uint8_t sha1[20];
};

struct upload {
	struct MHD_PostProcessor *pp;
	struct upfile f[PUSH_FILES_MAX];
	size_t n;
	struct mbuf *json;
	uint64_t max_file;
	const char *spool;
	unsigned status;          /**< non-zero: refuse with it          */
	char why[160];
	bool in_file;             /**< the current part is a file        */
};


static void upload_destructor(void *arg)
{
	struct upload *u = arg;

	if (u->pp)
		MHD_destroy_post_processor(u->pp);
	for (size_t i = 0; i < u->n; i++) {
		if (u->f[i].fd >= 0)
			(void)close(u->f[i].fd);
		if (u->f[i].path[0])
			(void)unlink(u->f[i].path);   /* not accepted */
		EVP_MD_CTX_free(u->f[i].sha);
	}
	mem_deref(u->json);
}


static void refuse(struct upload *u, unsigned status, const char *why)
{
	if (u->status)
		return;
	u->status = status;
	str_ncpy(u->why, why, sizeof(u->why));
}


static int new_file(struct upload *u, const char *name, const char *ctype)
{
	struct upfile *f;

	if (u->n >= PUSH_FILES_MAX) {
		refuse(u, 400, "file: at most 8 files per push");
		return EOVERFLOW;
	}
	f = &u->f[u->n];
	memset(f, 0, sizeof(*f));
	f->fd = -1;
	re_snprintf(f->path, sizeof(f->path), "%s/.up-XXXXXX", u->spool);
	f->fd = mkstemp(f->path);
	if (f->fd < 0) {
		f->path[0] = '\0';
		refuse(u, 503, "spool: cannot create a file");
		return errno;
	}
	++u->n;
	f->sha = EVP_MD_CTX_new();
	if (!f->sha || !EVP_DigestInit_ex(f->sha, EVP_sha1(), NULL)) {
		refuse(u, 503, "out of memory");
		return ENOMEM;
	}
	if (name && !pushjson_name_ok(name)) {
		refuse(u, 400, "file: filename must be 1..255 printable "
		       "characters without '\"' or '/'");
		return EINVAL;
	}
	if (!ctype || !pushjson_ctype_ok(ctype)) {
		refuse(u, 400, "file: each file part needs a Content-Type "
		       "(type/subtype)");
		return EINVAL;
	}
	str_ncpy(f->name, name ? name : "", sizeof(f->name));
	str_ncpy(f->ctype, ctype, sizeof(f->ctype));
	return 0;
}


static enum MHD_Result iter_h(void *cls, enum MHD_ValueKind kind,
			      const char *key, const char *filename,
			      const char *ctype, const char *transfer_enc,
			      const char *data, uint64_t off, size_t size)
{
	struct upload *u = cls;
	(void)kind;
	(void)transfer_enc;

	if (u->status)
		return MHD_YES;   /* read and dropped: the answer is known */

	if (!strcmp(key, "push")) {
		if (u->json->end + size > JSON_MAX)
			refuse(u, 413, "push: the JSON part is larger than "
			       "64 KiB");
		else
			(void)mbuf_write_mem(u->json, (const uint8_t *)data,
					     size);
		return MHD_YES;
	}

	if (strcmp(key, "file")) {
		refuse(u, 400, "body: parts are \"push\" and \"file\"");
		return MHD_YES;
	}

	if (!off && new_file(u, filename, ctype))
		return MHD_YES;
	if (!u->n)
		return MHD_YES;

	{
		struct upfile *f = &u->f[u->n - 1];

		if (f->size + size > u->max_file) {
			refuse(u, 413, "file: larger than --max-file-size");
			return MHD_YES;
		}
		while (size) {
			ssize_t w = write(f->fd, data, size);

			if (w <= 0) {
				refuse(u, errno == ENOSPC ? 507 : 503,
				       errno == ENOSPC ? "spool: disk full" :
				       "spool: write failed");
				return MHD_YES;
			}
			(void)EVP_DigestUpdate(f->sha, data, (size_t)w);
			f->size += (uint64_t)w;
			data += w;
			size -= (size_t)w;
		}
	}
	return MHD_YES;
}


/** A multipart POST begins: NULL when the body is not multipart */
int upload_begin(struct upload **up, struct MHD_Connection *conn,
		 const char *spool, uint64_t max_file)
{
	const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						     "Content-Type");
	struct upload *u;

	*up = NULL;
	if (!ct || strncasecmp(ct, "multipart/form-data", 19))
		return 0;
	if (!spool)
		return ENOTSUP;

	u = mem_zalloc(sizeof(*u), upload_destructor);
	if (!u)
		return ENOMEM;
	u->spool = spool;
	u->max_file = max_file;
	u->json = mbuf_alloc(1024);
	u->pp = MHD_create_post_processor(conn, 65536, iter_h, u);
	if (!u->json || !u->pp) {
		mem_deref(u);
		return u->pp ? ENOMEM : EINVAL;
	}
	*up = u;
	return 0;
}


void upload_data(struct upload *u, const char *data, size_t size)
{
	if (MHD_post_process(u->pp, data, size) != MHD_YES)
		refuse(u, 400, "body: not valid multipart/form-data");
}


/**
 * The body is complete: every file made durable and described in fv.
 * Returns 0 or the HTTP status to refuse with (and *why).
 */
unsigned upload_end(struct upload *u, struct push_file *fv, size_t *n,
		    const char **json, size_t *json_len, const char **why)
{
	if (!u->status && !u->n)
		refuse(u, 400, "file: a multipart push needs a file part");
	if (!u->status && !u->json->end)
		refuse(u, 400, "push: missing JSON part");

	for (size_t i = 0; !u->status && i < u->n; i++) {
		struct upfile *f = &u->f[i];

		if (!f->size)
			refuse(u, 400, "file: empty");
		else if (fsync(f->fd))
			refuse(u, 503, "spool: fsync failed");
		(void)EVP_DigestFinal_ex(f->sha, f->sha1, NULL);
		fv[i] = (struct push_file){
			.path = f->path, .filename = f->name[0] ? f->name :
				NULL, .ctype = f->ctype, .size = f->size,
		};
		memcpy(fv[i].sha1, f->sha1, 20);
	}

	*why = u->why;
	if (u->status)
		return u->status;
	*n = u->n;
	*json = (const char *)u->json->buf;
	*json_len = u->json->end;
	return 0;
}


/** The push was accepted: its files are the sender's now */
void upload_keep(struct upload *u)
{
	for (size_t i = 0; i < u->n; i++)
		u->f[i].path[0] = '\0';
}

/**
 * @file src/api/upload.h  Streaming multipart/form-data pushes
 */
struct upload;
struct push_file;
struct MHD_Connection;

int  upload_begin(struct upload **up, struct MHD_Connection *conn,
		  const char *spool, uint64_t max_file);
void upload_data(struct upload *u, const char *data, size_t size);
unsigned upload_end(struct upload *u, struct push_file *fv, size_t *n,
		    const char **json, size_t *json_len, const char **why);
void upload_keep(struct upload *u);

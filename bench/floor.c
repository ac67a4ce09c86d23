/**
 * @file floor.c  The floor of a durable push: what sippushd cannot do
 *                without, in a minimal loop (issue #22's "floor probes")
 *
 * Per push: an HTTP pair on a keep-alive TCP connection (the POST read
 * after epoll, the 202 written), a UDP pair (the MESSAGE sent, its 200
 * read after epoll), one INSERT when accepted and one UPDATE when final,
 * in SQLite WAL with synchronous=FULL, a transaction per batch of CONNS
 * pushes at each of the two steps (the group commit). Only this process
 * is measured: the peer (the HTTP client and the SIP terminal) is this
 * program again, started by exec so that callgrind does not follow it.
 *
 * usage: bench-floor PUSHES CONNS DBFILE
 *        (bench/push_ir.py runs it under callgrind beside sippushd)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <spawn.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sqlite3.h>

extern char **environ;

enum { MAXC = 64 };

static const char post[] =
	"POST /v1/pushes HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	"Content-Type: application/json\r\nAuthorization: Bearer "
	"0123456789abcdef0123456789abcdef\r\nContent-Length: 104\r\n\r\n"
	"{\"to\":\"sip:u1@example.com\",\"app\":\"mms.ua\",\"content_type\":"
	"\"text/plain\",\"body\":\"push 1 from push_ir\"}    ";
static const char ans[] =
	"HTTP/1.1 202 Accepted\r\nContent-Length: 35\r\nContent-Type: "
	"application/json\r\n\r\n{\"id\":\"0123456789abcdef\",\"ttl\":86400}";
static char message[700];    /* a MESSAGE's size, as sent */
static char ok[350];         /* a 200's size */


static void die(const char *what)
{
	perror(what);
	exit(1);
}


static int udp_bound(struct sockaddr_in *sa)
{
	socklen_t len = sizeof(*sa);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa->sin_port = 0;
	if (fd < 0 || bind(fd, (struct sockaddr *)sa, sizeof(*sa)) ||
	    getsockname(fd, (struct sockaddr *)sa, &len))
		die("udp");
	return fd;
}


/* The peer: CONNS HTTP clients posting one request at a time, and a SIP
 * terminal answering every datagram */
static int peer(int pushes, int conns, int tport, int uport)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fds[MAXC], ufd, left = pushes;
	char buf[4096];

	for (int i = 0; i < conns; i++) {
		sa.sin_port = htons((uint16_t)tport);
		fds[i] = socket(AF_INET, SOCK_STREAM, 0);
		if (fds[i] < 0 || connect(fds[i], (struct sockaddr *)&sa,
					  sizeof(sa)))
			die("connect");
	}
	ufd = socket(AF_INET, SOCK_DGRAM, 0);
	sa.sin_port = htons((uint16_t)uport);
	if (connect(ufd, (struct sockaddr *)&sa, sizeof(sa)))
		die("udp connect");
	if (send(ufd, "hi", 2, 0) != 2)   /* the server learns our address */
		die("hello");

	while (left > 0) {
		int batch = left < conns ? left : conns;

		for (int i = 0; i < batch; i++)
			if (send(fds[i], post, sizeof(post) - 1, 0) < 0)
				die("post");
		for (int i = 0; i < batch; i++)
			if (recv(fds[i], buf, sizeof(buf), 0) <= 0)
				die("202");
		for (int i = 0; i < batch; i++) {
			if (recv(ufd, buf, sizeof(buf), 0) <= 0 ||
			    send(ufd, ok, sizeof(ok), 0) < 0)
				die("200");
		}
		left -= batch;
	}
	return 0;
}


static void step(sqlite3 *db, sqlite3_stmt *st)
{
	if (sqlite3_step(st) != SQLITE_DONE) {
		fprintf(stderr, "sqlite: %s\n", sqlite3_errmsg(db));
		exit(1);
	}
	sqlite3_reset(st);
}


static void wait_in(int ep)
{
	struct epoll_event ev[MAXC];

	if (epoll_wait(ep, ev, MAXC, 10000) <= 0)
		die("epoll_wait");
}


int main(int argc, char **argv)
{
	struct sockaddr_in sa = {0}, ua = {0}, from;
	socklen_t flen = sizeof(from);
	int pushes, conns, lfd, ufd, ep, fds[MAXC];
	sqlite3 *db;
	sqlite3_stmt *ins, *upd, *begin, *commit;
	char buf[4096], ports[2][16];
	socklen_t len = sizeof(sa);
	pid_t pid;
	int st;

	if (argc == 6 && !strcmp(argv[1], "peer"))
		return peer(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]),
			    atoi(argv[5]));
	if (argc != 4) {
		fprintf(stderr, "usage: %s PUSHES CONNS DBFILE\n", argv[0]);
		return 2;
	}
	pushes = atoi(argv[1]);
	conns = atoi(argv[2]);
	if (pushes < 1 || conns < 1 || conns > MAXC)
		return 2;
	memset(message, 'm', sizeof(message));
	memset(ok, 'o', sizeof(ok));

	if (sqlite3_open(argv[3], &db) ||
	    sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous="
			 "FULL; CREATE TABLE pushes (id TEXT PRIMARY KEY, "
			 "aor TEXT, app TEXT, ctype TEXT, body BLOB, state "
			 "TEXT, created_ms INTEGER, final_ms INTEGER)",
			 NULL, NULL, NULL) ||
	    sqlite3_prepare_v2(db, "INSERT INTO pushes VALUES (?, ?, ?, ?, "
			       "?, 'pending', ?, NULL)", -1, &ins, NULL) ||
	    sqlite3_prepare_v2(db, "UPDATE pushes SET state='delivered', "
			       "final_ms=? WHERE id=?", -1, &upd, NULL) ||
	    sqlite3_prepare_v2(db, "BEGIN", -1, &begin, NULL) ||
	    sqlite3_prepare_v2(db, "COMMIT", -1, &commit, NULL)) {
		fprintf(stderr, "sqlite: %s\n", sqlite3_errmsg(db));
		return 1;
	}

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(lfd, MAXC) || getsockname(lfd, (struct sockaddr *)&sa,
					     &len))
		die("listen");
	ufd = udp_bound(&ua);
	snprintf(ports[0], sizeof(ports[0]), "%d", ntohs(sa.sin_port));
	snprintf(ports[1], sizeof(ports[1]), "%d", ntohs(ua.sin_port));
	{
		char *pargv[] = {argv[0], "peer", argv[1], argv[2], ports[0],
				 ports[1], NULL};

		if (posix_spawn(&pid, argv[0], NULL, NULL, pargv,
				environ))
			die("spawn");
	}

	ep = epoll_create1(0);
	for (int i = 0; i < conns; i++) {
		struct epoll_event ev = {.events = EPOLLIN};

		fds[i] = accept(lfd, NULL, NULL);
		ev.data.fd = fds[i];
		if (fds[i] < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev))
			die("accept");
	}
	{
		struct epoll_event ev = {.events = EPOLLIN, .data.fd = ufd};

		if (epoll_ctl(ep, EPOLL_CTL_ADD, ufd, &ev) ||
		    recvfrom(ufd, buf, sizeof(buf), 0,
			     (struct sockaddr *)&from, &flen) <= 0)
			die("hello");
	}

	for (int done = 0; done < pushes; ) {
		int batch = pushes - done < conns ? pushes - done : conns;
		char id[MAXC][24];

		/* the POSTs in, one transaction, the 202s out */
		step(db, begin);
		for (int i = 0; i < batch; i++) {
			int got = 0;

			while (got < (int)sizeof(post) - 1) {
				wait_in(ep);
				int n = (int)recv(fds[i], buf, sizeof(buf),
						  MSG_DONTWAIT);

				if (n > 0)
					got += n;
				else if (n == 0 || errno != EAGAIN)
					die("recv post");
			}
			snprintf(id[i], sizeof(id[i]), "%016x", done + i);
			sqlite3_bind_text(ins, 1, id[i], -1, SQLITE_STATIC);
			sqlite3_bind_text(ins, 2, "sip:u1@example.com", -1,
					  SQLITE_STATIC);
			sqlite3_bind_text(ins, 3, "mms.ua", -1, SQLITE_STATIC);
			sqlite3_bind_text(ins, 4, "text/plain", -1,
					  SQLITE_STATIC);
			sqlite3_bind_blob(ins, 5, "push 1 from push_ir", 19,
					  SQLITE_STATIC);
			sqlite3_bind_int64(ins, 6, done + i);
			step(db, ins);
		}
		step(db, commit);
		for (int i = 0; i < batch; i++)
			if (send(fds[i], ans, sizeof(ans) - 1, 0) < 0)
				die("send 202");

		/* the MESSAGEs out, their 200s in, one transaction */
		for (int i = 0; i < batch; i++)
			if (sendto(ufd, message, sizeof(message), 0,
				   (struct sockaddr *)&from, flen) < 0)
				die("sendto");
		step(db, begin);
		for (int i = 0; i < batch; i++) {
			wait_in(ep);
			if (recv(ufd, buf, sizeof(buf), 0) <= 0)
				die("recv 200");
			sqlite3_bind_int64(upd, 1, done + i);
			sqlite3_bind_text(upd, 2, id[i], -1, SQLITE_STATIC);
			step(db, upd);
		}
		step(db, commit);
		done += batch;
	}

	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
	    WEXITSTATUS(st))
		fprintf(stderr, "peer failed\n");
	sqlite3_finalize(ins);
	sqlite3_finalize(upd);
	sqlite3_finalize(begin);
	sqlite3_finalize(commit);
	sqlite3_close(db);
	{
		struct rusage ru;

		getrusage(RUSAGE_SELF, &ru);
		printf("floor: %d pushes, %.1f us CPU per push (user+sys, "
		       "this process)\n", pushes,
		       ((double)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 /
		       pushes + ((double)ru.ru_utime.tv_usec +
				 ru.ru_stime.tv_usec) / pushes);
	}
	return 0;
}

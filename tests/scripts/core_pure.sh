#!/bin/sh
# core_pure.sh CORE_ARCHIVE RT_ARCHIVE: the protocol core (src/core) is pure.
# Fails, naming each object and symbol, when an object of CORE_ARCHIVE
#  - calls a function of a denied family: sockets and the network, files
#    and stdio, clocks and sleeps, timers, process and environment, TLS
#    connections, libre's main loop and transports;
#  - calls a runtime helper (any global symbol RT_ARCHIVE defines: src/rt
#    and the timers; so no plog either);
#  - keeps writable global state (an object in .data, .bss or thread-local
#    storage; constant tables live in .rodata/.data.rel.ro).
#
# Deny by pattern rather than allow: the core rightly uses hundreds of pure
# libre and libc functions (pl_*, mbuf_*, mem_*, re_*printf into buffers,
# str_*, uri_*, sip_msg_hdr* and sip_addr_decode parsing, hash_*, list_*,
# expat's parser, gmtime_r/timegm on given times), and an allow list would
# fail on each harmless new one; what makes code impure comes in a few
# families, matched here by prefix so a new member is caught too. Allowed
# on purpose: rand_u64 (digest nonces; randomness, but no socket, clock or
# file the caller must provide).
set -u
core=$1
rt=$2

sockets='socket|socketpair|bind|connect|listen|accept|accept4|send|sendto|sendmsg|sendmmsg|recv|recvfrom|recvmsg|recvmmsg|getsockopt|setsockopt|getsockname|getpeername|shutdown|poll|ppoll|select|pselect|epoll_.*|getaddrinfo|freeaddrinfo|getnameinfo|gethostbyname.*|gethostbyaddr.*|res_.*|udp_.*|tcp_.*|tls_.*|dtls_.*|net_.*|dnsc_.*|stun_.*|turnc_.*|http_client_.*|http_request.*|http_listen.*|https_listen|http_reply.*|http_ereply|http_creply|httpconn_.*|websock_.*|sip_alloc|sip_listen|sip_transp_.*|sip_send.*|sip_request.*|sip_drequestf|sip_reply.*|sip_treply.*|sip_msg_tcpconn|sipreg_.*|sipsess_.*|sipsub_.*|sipevent_.*|fd_.*|re_main|re_cancel|re_thread_.*|mqueue_.*'
files='open|open64|openat|openat64|creat|__open.*|__openat.*|fopen|fopen64|fdopen|freopen|read|pread|pread64|readv|__read.*_chk|__pread.*_chk|write|pwrite|pwrite64|writev|close|fclose|fread|fwrite|fgets|__fgets.*_chk|fgetc|getc|getline|getdelim|fputs|fputc|putc|puts|putchar|printf|fprintf|vprintf|vfprintf|dprintf|__printf_chk|__fprintf_chk|__vfprintf_chk|fflush|fseek|ftell|rewind|feof|ferror|fileno|stdin|stdout|stderr|opendir|fdopendir|readdir|readdir64|closedir|scandir|dirfd|stat|stat64|fstat|fstat64|lstat|lstat64|fstatat|fstatat64|statx|__xstat|__fxstat|__lxstat|__fxstatat|mkdir|mkdirat|rmdir|unlink|unlinkat|rename|renameat|renameat2|link|linkat|symlink|readlink|chmod|fchmod|fchmodat|chown|fchown|fsync|fdatasync|ftruncate|truncate|mmap|munmap|access|faccessat|realpath|getcwd|chdir|dup|dup2|pipe|pipe2|ioctl|fcntl|fs_.*|conf_.*|re_printf|re_fprintf|re_vprintf|re_vfprintf|dbg_.*|syslog|openlog'
clocks='time|clock|times|ftime|clock_gettime|clock_getres|gettimeofday|localtime|localtime_r|mktime|ctime|ctime_r|tzset|sleep|usleep|nanosleep|clock_nanosleep|sys_.*'
timers='tmr_.*|tmrset_.*|timer_.*|timerfd_.*|alarm|setitimer|getitimer'
process='getenv|secure_getenv|setenv|unsetenv|putenv|getpid|getppid|getuid|geteuid|getgid|getegid|fork|vfork|exec.*|system|popen|pclose|kill|raise|signal|sigaction|pthread_.*|exit|_exit|atexit|rand|srand|random|srandom|dlopen|dlsym|setlocale'
tls='SSL_.*|BIO_.*|CRYPTO_get_ex_new_index'

# the runtime helpers' own names, one per line
rtsyms=$(nm -g --defined-only "$rt" | awk 'NF == 3 { print $3 }' | sort -u)
if [ -z "$rtsyms" ]; then
	echo "core_pure: no symbols in $rt" >&2
	exit 2
fi

out=$(nm -f sysv "$core") || exit 2
bad=$(printf '%s\n' "$out" | awk -F'|' \
	-v sockets="^($sockets)\$" -v files="^($files)\$" \
	-v clocks="^($clocks)\$" -v timers="^($timers)\$" \
	-v process="^($process)\$" -v tls="^($tls)\$" -v rtsyms="$rtsyms" '
BEGIN {
	n = split(rtsyms, v, "\n")
	for (i = 1; i <= n; i++)
		rt[v[i]] = 1
}
/^Symbols from / {
	obj = $0
	sub(/.*\[/, "", obj)
	sub(/\].*/, "", obj)
	next
}
NF < 7 { next }
{
	name = $1; gsub(/ /, "", name)
	sect = $7; gsub(/ /, "", sect)
	type = $4; gsub(/ /, "", type)
}
sect == "*UND*" {
	why = ""
	if (name ~ sockets)      why = "sockets/network"
	else if (name ~ files)   why = "files/stdio"
	else if (name ~ clocks)  why = "clock"
	else if (name ~ timers)  why = "timer"
	else if (name ~ process) why = "process/environment"
	else if (name ~ tls)     why = "TLS connection"
	else if (name in rt)     why = "runtime helper (src/rt)"
	if (why != "")
		print obj ": calls " name " (" why ")"
	next
}
# writable globals; instrumentation (ASan, coverage) names start with __
(type == "OBJECT" || type == "TLS") && name !~ /^__/ &&
(sect ~ /^\.(data|bss|tdata|tbss)/ || sect == "*COM*") &&
sect !~ /^\.data\.rel\.ro/ {
	print obj ": keeps global state " name " (" sect ")"
}')
if [ -n "$bad" ]; then
	printf '%s\n' "$bad"
	echo "core_pure: $(printf '%s\n' "$bad" | wc -l) impure reference(s) in $core; move the code to src/rt or pass what it needs in"
	exit 1
fi
echo "core_pure: $core is pure"

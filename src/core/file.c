/*
 * src/core/file.c — directories and whole-file reads and writes.
 *
 * file_write_all() writes to "path.tmp", fsyncs when asked, then renames:
 * a reader sees the old file or the new one, never half of one.
 */
#include "core/core.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool
file_mkdir_p(const char *path, int mode)
{
	char *p = xstrdup(path);
	for (char *s = p + 1; *s; s++)
	{
		if (*s == '/')
		{
			*s = '\0';
			if (mkdir(p, (mode_t) mode) != 0 && errno != EEXIST)
			{
				log_error("could not create directory \"%s\": %s", p, strerror(errno));
				free(p);
				return false;
			}
			*s = '/';
		}
	}
	if (mkdir(p, (mode_t) mode) != 0 && errno != EEXIST)
	{
		log_error("could not create directory \"%s\": %s", p, strerror(errno));
		free(p);
		return false;
	}
	free(p);
	return true;
}

bool
file_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

bool
file_fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
	{
		return false;
	}
	bool ok = fsync(fd) == 0;
	close(fd);
	return ok;
}

bool
file_write_all(const char *path, const char *data, size_t len, bool sync)
{
	char *tmp = xasprintf("%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
	{
		log_error("could not create file \"%s\": %s", tmp, strerror(errno));
		free(tmp);
		return false;
	}
	size_t off = 0;
	while (off < len)
	{
		ssize_t n = write(fd, data + off, len - off);
		if (n < 0)
		{
			if (errno == EINTR)
			{
				continue;
			}
			log_error("could not write file \"%s\": %s", tmp, strerror(errno));
			close(fd);
			unlink(tmp);
			free(tmp);
			return false;
		}
		off += (size_t) n;
	}
	if (sync && fsync(fd) != 0)
	{
		log_error("could not fsync file \"%s\": %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		free(tmp);
		return false;
	}
	close(fd);
	if (rename(tmp, path) != 0)
	{
		log_error("could not rename \"%s\" to \"%s\": %s", tmp, path, strerror(errno));
		unlink(tmp);
		free(tmp);
		return false;
	}
	free(tmp);
	return true;
}

char *
file_read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
	{
		return NULL;
	}
	StrBuf sb;
	sb_init(&sb);
	char buf[65536];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
	{
		sb_append_n(&sb, buf, n);
	}
	fclose(f);
	if (len != NULL)
	{
		*len = sb.len;
	}
	return sb_steal(&sb);
}

bool
file_remove_tree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
	{
		return errno == ENOENT;
	}
	if (!S_ISDIR(st.st_mode))
	{
		return unlink(path) == 0;
	}
	DIR *d = opendir(path);
	if (d == NULL)
	{
		return false;
	}
	struct dirent *de;
	bool ok = true;
	while ((de = readdir(d)) != NULL)
	{
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
		{
			continue;
		}
		char *child = xasprintf("%s/%s", path, de->d_name);
		ok = file_remove_tree(child) && ok;
		free(child);
	}
	closedir(d);
	return rmdir(path) == 0 && ok;
}

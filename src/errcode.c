#include "config.h"
#include "errcode.h"
#include "i18n.h"

#include <string.h>

const char *iken_strerror(int err)
{
	switch (err) {
	case IKEN_EOK: return _("success");
	case IKEN_ECONFLICT: return _("the record was changed by someone else since you opened it");
	case IKEN_ENOTFOUND: return _("not found");
	case IKEN_ESCHEMA: return _("the data store was written by a newer version of iken; upgrade iken");
	case IKEN_EFORM: return _("broken form file");
	case IKEN_EDATA: return _("the data has problems");
	case IKEN_ESTORE: return _("data store failure");
	case IKEN_EUTF8: return _("invalid UTF-8 text");
	case IKEN_ELIMIT: return _("input is over the size limit");
	case IKEN_ECSV: return _("malformed CSV");
	case IKEN_EXML: return _("malformed XML");
	case IKEN_EEXIST: return _("already exists");
	case IKEN_ESTATE: return _("not allowed in the document's current state");
	case IKEN_EPERM: return _("your role does not allow this");
	case IKEN_ECRYPTO: return _("cryptography failure");
	}
	if (err < 0 && err > -4096)
		return strerror(-err);
	return _("unknown error");
}

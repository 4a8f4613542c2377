/* The GPU queries on a machine with no GPU (or a library built without the `cuda`
 * feature): every call reports AD_ERR_NO_DEVICE, writes nothing, and NULLs are caught.
 * On a machine with a GPU the same calls must succeed and agree with each other. */
#include <stdio.h>
#include <string.h>

#include "check.h"

int main(void) {
    size_t count = 99, len = 0, free_bytes = 7, total = 7;
    char name[256];
    memset(name, 'x', sizeof name);
    if (!ad_device_available()) {
        CHECK(ad_device_count(&count) == AD_ERR_NO_DEVICE);
        CHECK(count == 99);
        CHECK(ad_device_name(0, name, sizeof name, &len) == AD_ERR_NO_DEVICE);
        CHECK(name[0] == 'x');
        CHECK(ad_device_memory(0, &free_bytes, &total) == AD_ERR_NO_DEVICE);
        CHECK(free_bytes == 7 && total == 7);
        CHECK(strcmp(ad_status_str(AD_ERR_NO_DEVICE), "no usable device") == 0);
    } else {
        CHECK(ad_device_count(&count) == AD_OK);
        CHECK(count >= 1);
        CHECK(ad_device_name(0, name, sizeof name, &len) == AD_OK);
        CHECK(len > 0 && strlen(name) == len);
        {   /* too small for the name and its NUL: the length is still reported */
            size_t need = 0;
            CHECK(ad_device_name(0, name, 1, &need) == AD_ERR_BUFFER_TOO_SMALL);
            CHECK(need == len);
        }
        CHECK(ad_device_memory(0, &free_bytes, &total) == AD_OK);
        CHECK(total > 0 && free_bytes <= total);
        CHECK(ad_device_name(count, name, sizeof name, &len) != AD_OK);
    }
    CHECK(ad_device_count(NULL) == AD_ERR_NULL);
    CHECK(ad_device_name(0, name, sizeof name, NULL) == AD_ERR_NULL);
    CHECK(ad_device_memory(0, NULL, &total) == AD_ERR_NULL);
    return check_summary();
}

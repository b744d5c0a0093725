// The Native Flow from C++: a small wrapper that turns the C status into an exception
// and the caller-owned buffers into std::string.
//
//   CONCUR_CONSUMER_KEY=... CONCUR_LOGIN_ID=... CONCUR_PASSWORD=... ./native_token_cpp
#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "concur_native.h"

namespace concur {

struct Error : std::runtime_error {
    concur_status status;
    Error(concur_status s, const std::string &message)
        : std::runtime_error(std::string(concur_native_status_name(s)) + ": " + message), status(s) {}
};

struct Token {
    std::string token, refresh_token, expiration_date, instance_url;
    long long expires_at = 0;
};

Token native_token(const char *consumer_key, const char *login_id, const char *password,
                   const concur_options *options) {
    std::vector<char> token(CONCUR_NATIVE_RECOMMENDED_CAPACITY), refresh(CONCUR_NATIVE_RECOMMENDED_CAPACITY),
        expiration(256), instance(1024), error(CONCUR_NATIVE_ERROR_CAPACITY);
    concur_token_buffers out = {
        {token.data(), token.size(), 0},
        {refresh.data(), refresh.size(), 0},
        {expiration.data(), expiration.size(), 0},
        {instance.data(), instance.size(), 0},
        0,
        0,
    };
    concur_status status =
        concur_native_token(consumer_key, login_id, password, options, &out, error.data(), error.size());
    if (status != CONCUR_OK) throw Error(status, error.data());
    Token result;
    result.token.assign(token.data(), out.token.len);
    result.refresh_token.assign(refresh.data(), out.refresh_token.len);
    result.expiration_date.assign(expiration.data(), out.expiration_date.len);
    result.instance_url.assign(instance.data(), out.instance_url.len);
    result.expires_at = out.expires_at;
    return result;
}

}  // namespace concur

int main() {
    const char *key = std::getenv("CONCUR_CONSUMER_KEY");
    const char *login = std::getenv("CONCUR_LOGIN_ID");
    if (key == nullptr || login == nullptr) {
        std::cerr << "set CONCUR_CONSUMER_KEY, CONCUR_LOGIN_ID and CONCUR_PASSWORD\n";
        return 2;
    }
    concur_options options = {};
    options.base_url = std::getenv("CONCUR_BASE_URL");
    options.ca_file = std::getenv("CONCUR_CA_FILE");
    try {
        concur::Token t = concur::native_token(key, login, std::getenv("CONCUR_PASSWORD"), &options);
        std::cout << "Token:           " << t.token << "\n"
                  << "Expiration date: " << t.expiration_date << " (Unix " << t.expires_at << ")\n"
                  << "Instance URL:    " << (t.instance_url.empty() ? "(none)" : t.instance_url) << "\n";
    } catch (const concur::Error &e) {
        std::cerr << e.what() << "\n";
        return 1;
    }
    return 0;
}

#include "core/push_codec.hpp"

#include <gtest/gtest.h>

using namespace sy::core;

namespace {

result<association_spec> association(std::string body) { return decode_association(body); }

result<send_to_list_spec> send(std::string body) { return decode_send_to_list(body); }

template <class T>
input_error error_of(const result<T>& r) {
  EXPECT_FALSE(r);
  return r ? input_error{} : r.error();
}

input_error association_error(std::string body) { return error_of(association(std::move(body))); }

input_error send_error(std::string body) { return error_of(send(std::move(body))); }

constexpr const char* note = R"("notification":{"title":"T","message":"M"})";

// A sendToList body with `rest` (members with a trailing comma, or "") before the notification.
std::string send_body(std::string rest) { return "{" + rest + note + "}"; }

} // namespace

// -- association --------------------------------------------------------------------

TEST(push_codec, association_decodes_every_field) {
  auto r = association(R"({"appId":"com.empresa.miapp",
    "token":"asdfdgwregjirgjirjh435ggyfggghhtg9i45rj9tu4j943ujto94jhtiorgtty",
    "association":{"cellphone":"573141234567","email":"usuario@empresa.com"},"deviceType":"iOS"})");
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->app_id, "com.empresa.miapp");
  EXPECT_EQ(r->token, "asdfdgwregjirgjirjh435ggyfggghhtg9i45rj9tu4j943ujto94jhtiorgtty");
  EXPECT_EQ(r->cellphone, "573141234567");
  EXPECT_EQ(r->email, "usuario@empresa.com");
  EXPECT_EQ(r->device_type, "iOS");
}

TEST(push_codec, association_with_cellphone_only_or_email_only) {
  auto r = association(R"({"token":"t","association":{"cellphone":"573141234567"}})");
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->cellphone, "573141234567");
  EXPECT_EQ(r->email, "");
  EXPECT_EQ(r->app_id, "");
  EXPECT_EQ(r->device_type, "");
  r = association(R"({"token":"t","association":{"email":"a@b.co"}})");
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->cellphone, "");
  EXPECT_EQ(r->email, "a@b.co");
}

TEST(push_codec, association_field_names_are_case_insensitive) {
  auto r = association(R"({"APPID":"x","Token":"t","Association":{"CellPhone":"12345678",
    "EMAIL":"a@b.co"},"devicetype":"web"})");
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->app_id, "x");
  EXPECT_EQ(r->token, "t");
  EXPECT_EQ(r->cellphone, "12345678");
  EXPECT_EQ(r->email, "a@b.co");
  EXPECT_EQ(r->device_type, "Web");
}

TEST(push_codec, association_device_type_is_canonicalised) {
  for (auto [in, out] :
       {std::pair{"android", "Android"}, std::pair{"ANDROID", "Android"}, std::pair{"IOS", "iOS"},
        std::pair{"ios", "iOS"}, std::pair{"Web", "Web"}}) {
    auto r = association(
      std::string(R"({"token":"t","association":{"email":"a@b.co"},"deviceType":")") + in + "\"}");
    ASSERT_TRUE(r) << in;
    EXPECT_EQ(r->device_type, out);
  }
  auto e = association_error(
    R"({"token":"t","association":{"email":"a@b.co"},"deviceType":"Windows"})");
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "deviceType");
}

TEST(push_codec, association_email_is_lowercased) {
  auto r = association(R"({"token":"t","association":{"email":"Usuario@Empresa.COM"}})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->email, "usuario@empresa.com");
}

TEST(push_codec, association_token_is_required) {
  auto e = association_error(R"({"association":{"email":"a@b.co"}})");
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "token");
  e = association_error(R"({"token":null,"association":{"email":"a@b.co"}})");
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "token");
  e = association_error(R"({"token":"","association":{"email":"a@b.co"}})");
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "token");
  e = association_error(R"({"token":42,"association":{"email":"a@b.co"}})");
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "token");
}

TEST(push_codec, association_object_is_required) {
  auto e = association_error(R"({"token":"t"})");
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "association");
  e = association_error(R"({"token":"t","association":null})");
  EXPECT_EQ(e.field, "association");
  e = association_error(R"({"token":"t","association":"a@b.co"})");
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "association");
}

TEST(push_codec, association_needs_cellphone_or_email) {
  auto e = association_error(R"({"token":"t","association":{}})");
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "association");
  e = association_error(R"({"token":"t","association":{"cellphone":"","email":null}})");
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "association");
}

TEST(push_codec, association_cellphone_is_8_to_15_digits) {
  for (auto ok : {"12345678", "123456789012345", "573141234567"})
    EXPECT_TRUE(
      association(std::string(R"({"token":"t","association":{"cellphone":")") + ok + "\"}}"))
      << ok;
  for (auto bad : {"1234567", "1234567890123456", "+573141234567", "57 314 123 4567",
                   "573-141-2345", "abcdefghij"}) {
    auto e = association_error(
      std::string(R"({"token":"t","association":{"email":"a@b.co","cellphone":")") + bad + "\"}}");
    EXPECT_EQ(e.status, 400) << bad;
    EXPECT_EQ(e.field, "association.cellphone") << bad;
  }
  auto e = association_error(R"({"token":"t","association":{"cellphone":573141234567}})");
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "association.cellphone");
}

TEST(push_codec, association_email_must_be_valid) {
  for (auto bad : {"usuario", "@empresa.com", "usuario@", "usuario@empresa", "a@@b.co", "a@b@c.co",
                   "us uario@empresa.com", "a@.b.co", "a@b.co.", "a@b..co", "a,b@c.co"}) {
    auto e = association_error(std::string(R"({"token":"t","association":{"email":")") + bad +
                               "\"}}");
    EXPECT_EQ(e.status, 400) << bad;
    EXPECT_EQ(e.field, "association.email") << bad;
  }
}

TEST(push_codec, association_errors_are_always_400) {
  for (auto bad : {"", "{", "[]", "\"x\"", R"({"token":"t",})", "{} 1",
                   R"({"token":"t","token":"u","association":{"email":"a@b.co"}})",
                   R"({"token":"t","association":{"email":"a@b.co","Email":"c@d.co"}})",
                   R"({"token":"t","association":{"email":"a@b.co"},"appId":5})"}) {
    auto r = association(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().status, 400) << bad;
  }
}

// -- sendToList -------------------------------------------------------------------------

TEST(push_codec, send_to_list_decodes_the_contract_example) {
  // Masiv's own "valid" example, including its "cellphones " member name.
  auto r = send(R"({
"tokens": ["e5b7244fe8e07a38eea633aaaec5c","969423461e6a6adf967920efbd764",
           "12bh8c2ioq308kkd19csbokctqlcq21"],
"tokensByAssociation": {
  "appId": "com.empresa.miapp",
  "deviceTypesToSend": ["ANDROID","IOS"],
  "cellphones ": ["5713140000000","5713140000001"],
  "emails": ["usuario1@dominio.com","usuario2@dominio.com"]
},
"notification": {
  "title": "Mensaje para lista",
  "message": "Este es un mensaje para una lista de dispositivos",
  "imageUrl": "https://dominio.com/ruta/imagen.png"
},
"data": {
  "Campaña": "Créditos nuevos",
  "Destinatarios": "Todos los clientes",
  "Notificar máximo": "3 dispositivos"
}
})");
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_TRUE(r->has_tokens);
  EXPECT_EQ(r->tokens, (std::vector<std::string>{"e5b7244fe8e07a38eea633aaaec5c",
                                                 "969423461e6a6adf967920efbd764",
                                                 "12bh8c2ioq308kkd19csbokctqlcq21"}));
  EXPECT_TRUE(r->by_association);
  EXPECT_EQ(r->app_id, "com.empresa.miapp");
  EXPECT_EQ(r->device_types, (std::vector<std::string>{"Android", "iOS"}));
  EXPECT_EQ(r->cellphones, (std::vector<std::string>{"5713140000000", "5713140000001"}));
  EXPECT_EQ(r->emails, (std::vector<std::string>{"usuario1@dominio.com", "usuario2@dominio.com"}));
  EXPECT_EQ(r->title, "Mensaje para lista");
  EXPECT_EQ(r->message, "Este es un mensaje para una lista de dispositivos");
  EXPECT_EQ(r->image_url, "https://dominio.com/ruta/imagen.png");
  using kv = std::pair<std::string, std::string>;
  EXPECT_EQ(r->data, (std::vector<kv>{{"Campaña", "Créditos nuevos"},
                                      {"Destinatarios", "Todos los clientes"},
                                      {"Notificar máximo", "3 dispositivos"}}));
}

TEST(push_codec, send_to_list_with_tokens_only) {
  auto r = send(send_body(R"("tokens":["a","b"],)"));
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_TRUE(r->has_tokens);
  EXPECT_EQ(r->tokens, (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(r->by_association);
  EXPECT_TRUE(r->app_id.empty());
  EXPECT_TRUE(r->device_types.empty());
  EXPECT_TRUE(r->cellphones.empty());
  EXPECT_TRUE(r->emails.empty());
  EXPECT_EQ(r->title, "T");
  EXPECT_EQ(r->message, "M");
  EXPECT_TRUE(r->image_url.empty());
  EXPECT_TRUE(r->data.empty());
}

TEST(push_codec, send_to_list_by_association_only) {
  auto r = send(send_body(R"("tokensByAssociation":{"emails":["A@B.co"]},)"));
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_FALSE(r->has_tokens);
  EXPECT_TRUE(r->tokens.empty());
  EXPECT_TRUE(r->by_association);
  EXPECT_EQ(r->emails, std::vector<std::string>{"a@b.co"});
  EXPECT_TRUE(r->cellphones.empty());
  EXPECT_TRUE(r->device_types.empty());
}

TEST(push_codec, send_to_list_field_names_are_case_insensitive) {
  auto r = send(R"({"TOKENS":["a"],"TokensByAssociation":{"APPID":"x","devicetypestosend":["web"],
    "CELLPHONES":["12345678"]},"Notification":{"TITLE":"t","Message":"m","IMAGEURL":"http://i.test/x.png"},
    "DATA":{"k":"v"}})");
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->tokens, std::vector<std::string>{"a"});
  EXPECT_EQ(r->app_id, "x");
  EXPECT_EQ(r->device_types, std::vector<std::string>{"Web"});
  EXPECT_EQ(r->cellphones, std::vector<std::string>{"12345678"});
  EXPECT_EQ(r->title, "t");
  EXPECT_EQ(r->message, "m");
  EXPECT_EQ(r->image_url, "http://i.test/x.png");
  ASSERT_EQ(r->data.size(), 1u);
  EXPECT_EQ(r->data[0].first, "k");
  EXPECT_EQ(r->data[0].second, "v");
}

TEST(push_codec, send_to_list_needs_tokens_or_association) {
  auto e = send_error(send_body(""));
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "tokens");
  EXPECT_NE(e.message.find("tokensByAssociation"), std::string::npos);
  e = send_error(send_body(R"("tokens":null,"tokensByAssociation":null,)"));
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "tokens");
  e = send_error(send_body(R"("tokens":[],)"));
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "tokens");
}

TEST(push_codec, send_to_list_empty_tokens_with_association_is_fine) {
  auto r = send(send_body(R"("tokens":[],"tokensByAssociation":{"cellphones":["12345678"]},)"));
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_TRUE(r->has_tokens);
  EXPECT_TRUE(r->tokens.empty());
  EXPECT_TRUE(r->by_association);
}

TEST(push_codec, send_to_list_tokens_must_be_non_empty_strings) {
  auto e = send_error(send_body(R"("tokens":["a",""],)"));
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "tokens[1]");
  e = send_error(send_body(R"("tokens":["a",5],)"));
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "tokens[1]");
  e = send_error(send_body(R"("tokens":"a",)"));
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "tokens");
}

TEST(push_codec, send_to_list_association_needs_cellphone_or_email) {
  auto e = send_error(send_body(R"("tokens":["a"],"tokensByAssociation":{"appId":"x"},)"));
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "tokensByAssociation");
  e = send_error(send_body(R"("tokensByAssociation":{"cellphones":[],"emails":null},)"));
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "tokensByAssociation");
  e = send_error(send_body(R"("tokensByAssociation":[],)"));
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "tokensByAssociation");
}

TEST(push_codec, send_to_list_association_members_are_validated) {
  auto e = send_error(
    send_body(R"("tokensByAssociation":{"cellphones":["12345678","12ab5678"]},)"));
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "tokensByAssociation.cellphones[1]");
  e = send_error(send_body(R"("tokensByAssociation":{"emails":["a@b.co","nope"]},)"));
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "tokensByAssociation.emails[1]");
  e = send_error(send_body(
    R"("tokensByAssociation":{"emails":["a@b.co"],"deviceTypesToSend":["Android","BlackBerry"]},)"));
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "tokensByAssociation.deviceTypesToSend[1]");
  e = send_error(send_body(R"("tokensByAssociation":{"emails":"a@b.co"},)"));
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "tokensByAssociation.emails");
  e = send_error(send_body(R"("tokensByAssociation":{"emails":["a@b.co"],"appId":1},)"));
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "tokensByAssociation.appId");
}

TEST(push_codec, send_to_list_notification_is_required) {
  auto e = send_error(R"({"tokens":["a"]})");
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "notification");
  e = send_error(R"({"tokens":["a"],"notification":null})");
  EXPECT_EQ(e.field, "notification");
  e = send_error(R"({"tokens":["a"],"notification":"hi"})");
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "notification");
}

TEST(push_codec, send_to_list_title_and_message_are_required) {
  auto e = send_error(R"({"tokens":["a"],"notification":{"message":"m"}})");
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "notification.title");
  e = send_error(R"({"tokens":["a"],"notification":{"title":"","message":"m"}})");
  EXPECT_EQ(e.field, "notification.title");
  e = send_error(R"({"tokens":["a"],"notification":{"title":"t"}})");
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "notification.message");
  e = send_error(R"({"tokens":["a"],"notification":{"title":"t","message":null}})");
  EXPECT_EQ(e.field, "notification.message");
  e = send_error(R"({"tokens":["a"],"notification":{"title":"t","message":7}})");
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "notification.message");
}

TEST(push_codec, send_to_list_image_url_must_be_valid) {
  auto e = send_error(
    R"({"tokens":["a"],"notification":{"title":"t","message":"m","imageUrl":"imagen.png"}})");
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "notification.imageUrl");
  auto r = send(R"({"tokens":["a"],"notification":{"title":"t","message":"m","imageUrl":null}})");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->image_url.empty());
}

TEST(push_codec, send_to_list_data_is_string_to_string) {
  auto e = send_error(send_body(R"("tokens":["a"],"data":{"k":1},)"));
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "data.k");
  e = send_error(send_body(R"("tokens":["a"],"data":["k"],)"));
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "data");
  e = send_error(send_body(R"("tokens":["a"],"data":{"k":"v","k":"w"},)"));
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.field, "data.k");
  auto r = send(send_body(R"("tokens":["a"],"data":null,)"));
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->data.empty());
}

TEST(push_codec, send_to_list_data_refuses_reserved_keys) {
  for (auto key : {"from", "FROM", "message_type", "Message_Type", "google", "google.c.a.e",
                   "GoogleX", "gcm", "gcm.notification", "GCMx"}) {
    auto e = send_error(
      send_body(std::string(R"("tokens":["a"],"data":{"ok":"1",")") + key + R"(":"v"},)"));
    EXPECT_EQ(e.status, 400) << key;
    EXPECT_EQ(e.field, std::string("data.") + key);
  }
  auto r = send(
    send_body(R"("tokens":["a"],"data":{"fromage":"brie","my_google":"x","message":"m"},)"));
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->data.size(), 3u);
}

TEST(push_codec, send_to_list_errors_are_always_400) {
  for (auto bad : {"", "{", "[]", "null", "\"x\"", "{} {}", R"({"tokens":["a"],)", "{} x",
                   R"({"tokens":[],"x":-})",
                   R"({"tokens":["a"],"tokens":["b"],"notification":{"title":"t","message":"m"}})",
                   R"({"tokens":["a"],"notification":{"title":"t","title":"u","message":"m"}})"}) {
    auto r = send(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().status, 400) << bad;
  }
}

TEST(push_codec, strings_outlive_the_body) {
  std::string body =
    R"({"tokens":["t\u0031"],"notification":{"title":"a\"b","message":"m"},"data":{"k\n":"v"}})";
  auto r = decode_send_to_list(body);
  body.assign(body.size(), 'X');
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->tokens, std::vector<std::string>{"t1"});
  EXPECT_EQ(r->title, "a\"b");
  EXPECT_EQ(r->data[0].first, "k\n");
}

TEST(push_codec, validators) {
  EXPECT_TRUE(is_valid_cellphone("573141234567"));
  EXPECT_FALSE(is_valid_cellphone(""));
  EXPECT_TRUE(is_valid_email("usuario@empresa.com"));
  EXPECT_TRUE(is_valid_email("first.last+tag@sub.domain.co"));
  EXPECT_FALSE(is_valid_email(""));
  EXPECT_FALSE(is_valid_email(std::string(65, 'a') + "@b.co"));
  EXPECT_EQ(canonical_device_type("aNdRoId"), "Android");
  EXPECT_EQ(canonical_device_type("IOS"), "iOS");
  EXPECT_EQ(canonical_device_type("WEB"), "Web");
  EXPECT_EQ(canonical_device_type("ipad"), "");
}

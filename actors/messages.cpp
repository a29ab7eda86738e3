#include "actors/messages.hpp"

namespace sy::actors {

void register_protocol(caf::actor_system_config& cfg) {
  cfg.add_message_types<caf::id_block::switchyard>();
  cfg.add_error_category(error_category,
                         [](uint8_t code, caf::atom_value, const caf::message& context) {
                           std::string out = "switchyard: ";
                           out += to_string(static_cast<errc>(code));
                           if (context.match_elements<std::string, std::string>()) {
                             out += ": ";
                             out += context.get_as<std::string>(0);
                           }
                           return out;
                         });
}

} // namespace sy::actors

#include "core/dtype_names.h"

#include <cctype>
#include <regex>

namespace dsla {

std::string torch_dtype_name(at::ScalarType t) {
  switch (t) {
    case at::kFloat:
      return "torch.float32";
    case at::kDouble:
      return "torch.float64";
    case at::kHalf:
      return "torch.float16";
    case at::kBFloat16:
      return "torch.bfloat16";
    case at::kComplexFloat:
      return "torch.complex64";
    case at::kComplexDouble:
      return "torch.complex128";
    case at::kComplexHalf:
      return "torch.complex32";
    case at::kByte:
      return "torch.uint8";
    case at::kChar:
      return "torch.int8";
    case at::kShort:
      return "torch.int16";
    case at::kInt:
      return "torch.int32";
    case at::kLong:
      return "torch.int64";
    case at::kBool:
      return "torch.bool";
    default: {
      std::string s = c10::toString(t);
      for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return "torch." + s;
    }
  }
}

std::string with_torch_dtype_names(const std::string& message) {
  // Longest names first inside the alternation so that "ComplexDouble" is not read as "Double".
  static const std::regex names(
      "\\b(ComplexDouble|ComplexFloat|ComplexHalf|BFloat16|Double|Float|Half|Long|Int|Short|Char|"
      "Byte|Bool)\\b");
  static const std::pair<const char*, at::ScalarType> table[] = {
      {"ComplexDouble", at::kComplexDouble},
      {"ComplexFloat", at::kComplexFloat},
      {"ComplexHalf", at::kComplexHalf},
      {"BFloat16", at::kBFloat16},
      {"Double", at::kDouble},
      {"Float", at::kFloat},
      {"Half", at::kHalf},
      {"Long", at::kLong},
      {"Int", at::kInt},
      {"Short", at::kShort},
      {"Char", at::kChar},
      {"Byte", at::kByte},
      {"Bool", at::kBool}};
  std::string out;
  auto it = std::sregex_iterator(message.begin(), message.end(), names);
  std::size_t last = 0;
  for (; it != std::sregex_iterator(); ++it) {
    const auto& m = *it;
    out.append(message, last, static_cast<std::size_t>(m.position()) - last);
    for (const auto& [name, type] : table) {
      if (m.str() == name) {
        out += torch_dtype_name(type);
        break;
      }
    }
    last = static_cast<std::size_t>(m.position() + m.length());
  }
  out.append(message, last, std::string::npos);
  return out;
}

}  // namespace dsla

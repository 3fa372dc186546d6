// The module specifiers a TypeScript file names, read with the compiler's parser (no type-checking): what the
// code-shape and lazy-loading tests build their import graphs from.
import * as fs from "fs";
import * as ts from "typescript";

/**
 * Every module specifier `file` names: imports, re-exports, `import("...")` types and calls, `require`. A
 * `require` of a template such as `./artifact-backends/${name}` (the registries) is `./artifact-backends/*`:
 * any file of that folder.
 */
export function moduleSpecifiers(file: string): string[] {
  const source = ts.createSourceFile(file, fs.readFileSync(file, "utf8"), ts.ScriptTarget.ES2022, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      if (ts.isStringLiteral(node.moduleSpecifier)) found.push(node.moduleSpecifier.text);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      if (ts.isStringLiteral(node.argument.literal)) found.push(node.argument.literal.text);
    } else if (
      ts.isCallExpression(node) &&
      (node.expression.kind === ts.SyntaxKind.ImportKeyword ||
        (ts.isIdentifier(node.expression) && node.expression.text === "require")) &&
      node.arguments.length > 0 &&
      ts.isStringLiteralLike(node.arguments[0])
    ) {
      found.push(node.arguments[0].text);
    } else if (
      ts.isCallExpression(node) &&
      ts.isIdentifier(node.expression) &&
      node.expression.text === "require" &&
      node.arguments.length > 0 &&
      ts.isTemplateExpression(node.arguments[0]) &&
      node.arguments[0].head.text.endsWith("/")
    ) {
      found.push(`${node.arguments[0].head.text}*`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

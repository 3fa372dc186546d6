// The settings types live with the components (components/settings.ts); re-exported for the stack code.
export * from "../components/settings";

/** A migration file, inlined as its text by the bundler (see migrations.ts). */
declare module '*.sql' {
  const text: string;
  export default text;
}

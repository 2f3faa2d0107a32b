export async function run(): Promise<number> { return Promise.resolve(2); }
